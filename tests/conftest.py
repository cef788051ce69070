"""Shared test settings: hypothesis kept small enough for the whole suite to run in minutes on 2 cores."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "25")),
    deadline=None,  # the machine is shared: no timing-based failures
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")
