"""leadscore: train, serve and A/B-test lead-conversion models on Kubernetes."""

__version__ = "0.1.0"
