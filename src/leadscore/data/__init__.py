"""leadscore.data."""
