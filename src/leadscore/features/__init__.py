"""leadscore.features."""
