"""Fairness audits of job-matching and profiling models used by public employment services."""

__version__ = "0.1.0"
