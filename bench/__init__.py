"""The benchmark suite (`python -m bench`) and single-purpose benchmarks."""
