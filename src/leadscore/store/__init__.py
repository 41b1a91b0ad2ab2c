"""leadscore.store."""
