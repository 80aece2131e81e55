"""benchmarks: `python -m benchmarks.run` and the performance suite `python -m benchmarks.perf`."""
