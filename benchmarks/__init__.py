"""Benchmarks of qkv against PyTorch (run `python -m benchmarks.run`)."""
