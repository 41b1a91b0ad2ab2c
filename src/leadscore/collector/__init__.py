"""leadscore.collector."""
