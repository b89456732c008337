"""Faster, part 2: hyperparameter search with Hyperopt and Optuna, tracked in MLflow, on Spark (notebook 03)."""
