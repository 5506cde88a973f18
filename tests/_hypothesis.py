"""Hypothesis profiles: "ci" (the default: the parse fuzz property runs 10,000 examples) and "dev" (quick).

Pick one with ``HYPOTHESIS_PROFILE=dev python -m pytest``. Tests that are slower per example (batches, the CLI) scale
their own ``max_examples`` from the loaded profile with :func:`scaled`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # the tests time each call themselves, against the length policy's bound
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=10_000, **_COMMON)
settings.register_profile("dev", max_examples=300, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def scaled(fraction: float, minimum: int = 20) -> int:
    """``fraction`` of the loaded profile's max_examples (at least ``minimum``)."""
    return max(minimum, int(settings.default.max_examples * fraction))
