"""`python -m bazaar_bench`: see `bazaar_bench.cli`."""

from bazaar_bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
