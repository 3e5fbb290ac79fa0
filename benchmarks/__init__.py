"""Benchmarks (``make bench``): demo generation and warehouse builds, timed with peak memory.

Results are printed as a Markdown table and written to ``artifacts/bench/``; the figures
quoted in docs/benchmarks.md come from here.
"""
