"""Reproducible measurements (not tests): memory and speed of the engine. Results in docs/BENCHMARKS.md."""
