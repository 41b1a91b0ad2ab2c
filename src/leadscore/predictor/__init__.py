"""leadscore.predictor."""
