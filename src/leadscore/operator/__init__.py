"""leadscore.operator."""
