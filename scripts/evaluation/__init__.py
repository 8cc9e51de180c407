"""Scoring models and pipelines into metrics/."""
