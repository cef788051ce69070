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
