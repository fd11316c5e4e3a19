"""The simulated users' pacing, apart from the locustfile so that it can be tested without importing locust (which
monkey-patches the standard library with gevent when imported)."""

from __future__ import annotations

import random
import time


def poisson_pacing(rate: float):
    """A locust wait_time: the user's actions start as a Poisson process of `rate` per second. Each start is
    scheduled an exponential gap after the previous scheduled one (not after the action ends, so the rate does not
    depend on how long actions take); a user behind schedule acts at once and does not catch up in a burst."""

    def wait_time(user) -> float:
        now = time.monotonic()
        scheduled = getattr(user, "_next_action", now) + random.expovariate(rate)
        user._next_action = max(scheduled, now)
        return user._next_action - now

    return wait_time
