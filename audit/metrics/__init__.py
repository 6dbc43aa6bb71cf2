"""Metrics computed from sufficient statistics: rates, disparities, intervals and tests."""
