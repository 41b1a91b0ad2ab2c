"""leadscore.experiments."""
