"""fa_lab's speed benchmarks: ``bench.py`` (``make bench``) and ``batch_regime.py``; see docs/benchmarks.md."""
