"""Data drift: the training reference profile, the measures, the report and the Git action.

- ``profile``: ``build_reference(frame, target)`` -> the ``reference.json`` document;
- ``measure`` / ``stats``: PSI, KS and chi-squared per feature (vectorised numpy);
- ``detect``: thresholds from the spec -> a ``DriftReport``;
- ``report``: ``drift.json`` and the Markdown report;
- ``sources``: where the reference and the current data come from;
- ``action`` / ``hub``: the retraining pull request or issue on GitHub.

Nothing here imports pandas or numpy at module level.
"""
