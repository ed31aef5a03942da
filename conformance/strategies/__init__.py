"""Hypothesis strategies and state machines that generate scenarios."""
