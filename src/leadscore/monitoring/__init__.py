"""leadscore.monitoring: model health from what was served.

- ``profile``: the reference profile the trainer stores with every model version
  (``reference_profile.json``): binned distributions of the raw input fields and of the
  score, measured on the held-out rows.
- ``drift``: pure comparisons of a sample (a data file, a window of served leads) with that
  profile: PSI per field and for the score, a KS or chi-square p-value, thresholds.
"""
