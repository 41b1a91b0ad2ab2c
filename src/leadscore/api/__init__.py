"""leadscore.api."""
