"""MLflow as the audit's sink: one run per audit, registry tags and aliases, the evaluator plugin."""
