"""Every benchmark script runs, in its smallest form, so that none goes stale while the engine changes.

Nothing here times anything (speed is measured by the scripts themselves, never by a test): each
script is run once with the fewest steps it takes, and must finish and print its figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_demos import needs_data

ROOT = Path(__file__).resolve().parents[2]


def benchmark(script: str, arguments: list, last_words: str, data: bool = True):
    """One run: the script, its smallest arguments ({tmp}: a temporary folder, {root}: this checkout),
    words of the last line it prints, and whether it reads MNIST."""
    return pytest.param(script, arguments, last_words, id=script, marks=[needs_data] if data else [])


RUNS = [
    benchmark("bench_readonly_grad.py", ["--repeats", "1", "--steps", "2"], "read-only / writable: median ratio",
              data=False),
    benchmark("bench_train_step.py", ["--quick", "--workload", "784-30-", "--json", "{tmp}/results.json"], "wrote"),
    benchmark("bench_cnn_step.py", ["--quick", "--json", "{tmp}/results-cnn.json"], "wrote"),
    benchmark("bench_load.py", [], "of which checking the cached arrays"),
    benchmark("bench_versions.py", ["--base", "{root}", "--repeats", "1", "--steps", "2", "1"], "new/base:"),
]


@pytest.mark.parametrize(("script", "arguments", "last_words"), RUNS)
def test_the_benchmark_runs(script, arguments, last_words, tmp_path):
    argv = [a.format(tmp=tmp_path, root=ROOT) for a in arguments]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's packages, whatever is installed
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *argv], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert last_words in run.stdout.strip().splitlines()[-1], run.stdout[-3000:]
