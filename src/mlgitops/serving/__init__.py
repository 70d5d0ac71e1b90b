"""The model server the generated manifests run: MLflow's scoring app with Prometheus metrics.

``mlgitops serve`` (extra ``mlgitops[serve]``) loads a model with MLflow, serves
MLflow's own scoring app (``mlflow.pyfunc.scoring_server``: ``/invocations``,
``/ping``, ``/health``, ``/version``) and exports on a second port, at
``/metrics``, what the canary analysis queries (``metrics`` lists the names).
Nothing here is imported by the CLI until ``serve`` runs.
"""
