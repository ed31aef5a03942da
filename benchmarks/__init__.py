"""The suite's own speed, measured side by side in one run: ``python3 -m benchmarks``."""
