"""The insights console: models, versions, experiments and leads for sales operations, and the
actions (roll back, retrain) done with the signed-in user's own Kubernetes identity."""
