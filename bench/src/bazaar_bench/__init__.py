"""Bazaar's benchmark suite: `python -m bazaar_bench` (or `bazaar bench`); see bench/README.md."""
