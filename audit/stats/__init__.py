"""Sufficient statistics of a decisions table, their bootstrap, and the `assess` entry point."""
