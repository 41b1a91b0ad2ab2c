"""leadscore.trainer."""
