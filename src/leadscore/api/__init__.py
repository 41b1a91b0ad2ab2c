"""leadscore.api: the custom resources' models (single source of truth for the CRDs) and contracts.

Pure: pydantic only, no I/O. ``leadscoringmodel`` and ``abexperiment`` hold the CR models,
``conditions`` the status conditions and phases, ``crd`` the CRD generator, ``results`` the
trainer's result contract and ``summary`` the collector's experiment summary.
"""
