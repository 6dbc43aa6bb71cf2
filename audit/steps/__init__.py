"""The steps of `run_audit`, one module each: data, model, decisions, baseline, outputs."""
