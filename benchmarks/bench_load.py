"""How long does loading the 60,000 MNIST training digits take, the first time and after?

The first load reads the gzip IDX files, checks their SHA-256 sums, decodes them and caches the
arrays as .npy; later loads read the cache (and still check the source files' sums). The cache
goes to a temporary folder here, so your own is left alone.

    python benchmarks/bench_load.py          # finds the data as load_mnist does ($TINYGRAD_EDU_DATA, ...)
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from tinygrad_edu.data import load_mnist


def seconds(load) -> float:
    start = time.perf_counter()
    load()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        first = seconds(load_mnist)
        later = [seconds(load_mnist) for _ in range(7)]
    print(f"first load: {first:.2f} s (decode, check, write the .npy cache)")
    print(f"later loads: median {statistics.median(later) * 1e3:.0f} ms, range "
          f"{min(later) * 1e3:.0f}-{max(later) * 1e3:.0f} ms over {len(later)} loads")


if __name__ == "__main__":
    main()
