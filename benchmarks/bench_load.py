"""How long does loading the 60,000 MNIST training digits take, the first time and after?

The first load reads the gzip IDX files, checks their SHA-256 sums, decodes them and caches the
arrays as .npy with a record of their source and a CRC-32 of each; later loads read the cache, check it against the record and
still check the source files' sums. The cache goes to a temporary folder here, so your own is left alone.

    python benchmarks/bench_load.py          # finds the data as load_mnist does ($TINYGRAD_EDU_DATA, ...)
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

from tinygrad_edu.data import load_mnist
from tinygrad_edu.data.datasets import _crc32


def seconds(load) -> float:
    start = time.perf_counter()
    load()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        first = seconds(load_mnist)
        later = [seconds(load_mnist) for _ in range(7)]
        images, labels = load_mnist(raw=True)
        check = [seconds(lambda: (_crc32(images, "images"), _crc32(labels, "labels"))) for _ in range(7)]
    print(f"first load: {first:.2f} s (decode, check, write the .npy cache)")
    print(f"later loads: median {statistics.median(later) * 1e3:.0f} ms, range "
          f"{min(later) * 1e3:.0f}-{max(later) * 1e3:.0f} ms over {len(later)} loads")
    print(f"of which checking the cached arrays' CRC-32: median {statistics.median(check) * 1e3:.0f} ms "
          f"({statistics.median(check) / statistics.median(later):.0%} of a later load, "
          f"{statistics.median(check) / first:.1%} of the first)")


if __name__ == "__main__":
    main()
