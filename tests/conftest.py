"""Shared test settings: hypothesis kept small enough for the whole suite to run in minutes on 2 cores."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "25")),
    deadline=None,  # the machine is shared: no timing-based failures
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")


def pytest_make_parametrize_id(config, val, argname):
    """Parameter ids in plain ASCII ('≥' becomes '?'): pytest writes other characters escaped, and an
    escaped id no longer selects its test on the command line (`pytest "tests/x.py::test[id]"`), which
    is how mutmut runs the tests of each mutant."""
    if isinstance(val, str) and not val.isascii():
        return val.encode("ascii", "replace").decode()
    return None


@pytest.fixture(autouse=True, scope="session")
def private_cache_folder(tmp_path_factory):
    """Decoded-data caches and downloads go to a temporary folder, never the user's ~/.cache."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture
def agrees_with_torch():
    """``check(code, *arrays)``: ``code(lib, *tensors)`` must give the same values, dtypes and gradients with
    lib = tinygrad_edu and lib = torch (float arrays become tensors that require grad; other arguments
    are passed as they are). Skips the test where PyTorch is not installed."""
    torch = pytest.importorskip("torch")
    import numpy as np

    import tinygrad_edu as tg

    def run(lib, code, arrays):
        leaves = [lib.tensor(a.copy(), requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
                  for a in arrays]
        out = code(lib, *leaves)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        differentiable = [o for o in outs if o.requires_grad]
        if differentiable:
            total = sum((o * lib.tensor(np.linspace(-1, 2, o.numel()).reshape(tuple(o.shape)), dtype=o.dtype)).sum()
                        for o in differentiable)
            total.backward()
        values = [np.array(o.detach().numpy() if lib is torch else o.numpy()) for o in outs]
        dtypes = [str(o.dtype).replace("torch.", "") for o in outs]
        grads = [None if getattr(t, "grad", None) is None else np.array(t.grad.numpy()) for t in leaves]
        return values, dtypes, grads

    def check(code, *arrays, rtol=1e-6, atol=1e-9):
        (values, dtypes, grads), (t_values, t_dtypes, t_grads) = (run(lib, code, arrays) for lib in (tg, torch))
        assert dtypes == t_dtypes
        for mine, theirs in zip(values, t_values):
            assert mine.shape == theirs.shape
            np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol, equal_nan=True)
        for mine, theirs in zip(grads, t_grads):
            assert (mine is None) == (theirs is None)
            if mine is not None:
                np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=atol, equal_nan=True)

    return check
