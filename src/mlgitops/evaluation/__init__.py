"""Scoring a candidate against the deployed model: metrics, paired bootstrap, gates, verdict.

The numeric core behind ``mlgitops compare``. Only ``mlgitops.commands.compare``
imports it, inside its ``run`` function, so numpy (imported at the top of these
modules) never loads for ``mlgitops --help`` or ``mlgitops render``.

- :mod:`.metrics`: the holdout and predictions records, the metric registry and
  point scores (``score``).
- :mod:`.kernels` and :mod:`.auc`: each metric as a function of resample counts,
  vectorised over many resamples at once.
- :mod:`.bootstrap`: the seeded paired bootstrap of the candidate-minus-baseline delta;
  :mod:`.scoring` applies it to every metric of a pipeline.
- :mod:`.slices`, :mod:`.gates`, :mod:`.verdict`: slice metrics, gate results and the
  verdict document (pure functions).
- :mod:`.inputs`: the deployed model's signature, the feature diff and the exact
  inputs it is given; :mod:`.pairing`: which holdout rows both models are compared
  on (never the deployed model's training rows) and whether the relative gates
  can be evaluated.
- :mod:`.assess`: the reusable scoring API (a pipeline, a holdout frame, the
  candidate's predictions and optionally the deployed model in; metric results
  and slices out; :func:`.verdict.decide` then gives the gate results).
- :mod:`.handoff` and :mod:`.baseline`: reading the candidate's hand-off files and
  the deployed model with its signature and training rows (the effectful edges).
"""
