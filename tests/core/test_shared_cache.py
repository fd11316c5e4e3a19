"""The cache and the rate limits are shared by every process: on Redis when REDIS_URL is set (Django's RedisCache,
the throttling counters in it), else in the database (the cache's table `core_cache`, created by the migrations,
and the throttling table). Shown with two real processes on each, and the throttle's Redis counters in this
process."""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import caches

from omniguichet.core import throttle

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="processes on a SQLite file and Redis: one run is enough",
)

STEP = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.core.cache import cache
from omniguichet.core import throttle

hits, value = int(sys.argv[1]), sys.argv[2]
delays = [throttle.hit("kiosk.nir", "one NIR typed at two kiosks") for _ in range(hits)]
try:
    throttle.check("kiosk.nir", "one NIR typed at two kiosks")
    refused = 0
except throttle.Throttled as exc:
    refused = exc.retry_after
seen = cache.get("shared")
if value:
    cache.set("shared", value, 60)
print(json.dumps({"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
                  "storage": settings.THROTTLE_STORAGE, "delays": delays, "refused": refused, "seen": seen}))
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("migrated")
    env = _env(tmp)
    subprocess.run([sys.executable, "-m", "omniguichet.cli", "migrate", "--no-input", "-v", "0"], env=env,
                   check=True, timeout=300)  # fmt: skip
    return tmp / "db.sqlite3"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL", "OMNIGUICHET_TASK_QUEUE"}
    }
    env.update(OMNIGUICHET_VAR_DIR=str(tmp), DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3", PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="omniguichet.settings", **extra)  # fmt: skip
    return env


def _step(env: dict[str, str], hits: int, value: str = "") -> dict:
    result = subprocess.run([sys.executable, "-c", STEP, str(hits), value], env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("where", ["redis", "database"])
def test_two_processes_share_a_rate_limit_and_the_cache(tmp_path, migrated, redis_url, where):
    shutil.copyfile(migrated, tmp_path / "db.sqlite3")
    env = _env(tmp_path, **({"REDIS_URL": redis_url} if where == "redis" else {}))
    # kiosk.nir: 5 identifications go without waiting; the 5th sets a wait of 5 minutes.
    first = _step(env, 3, value="from the first process")
    assert (first["delays"], first["refused"], first["seen"]) == ([0, 0, 0], 0, None)
    second = _step(env, 2)  # another process: it counts on from 3
    assert second["delays"] == [0, 300] and 299 <= second["refused"] <= 300
    assert second["seen"] == "from the first process"
    third = _step(env, 0)  # and a third one is refused without counting
    assert 240 <= third["refused"] <= 300
    expected = (
        ("RedisCache", "cache") if where == "redis" else ("DatabaseCache", "database")
    )  # fmt: skip
    assert (first["backend"], first["storage"]) == expected


def test_throttle_counters_on_redis(settings, redis_url, monkeypatch):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    settings.THROTTLE_STORAGE = "cache"
    settings.THROTTLE_LIMITS = {"test.guess": (3, 30, 60, 3600)}
    try:
        assert [throttle.hit("test.guess", "1 80 01 75 056 001") for _ in range(3)] == [0, 0, 30]
        with pytest.raises(throttle.Throttled) as refused:
            throttle.attempt([("test.guess", "1 80 01 75 056 001")])
        assert 25 <= refused.value.retry_after <= 30  # seconds go by on a busy machine
        throttle.check("test.guess", "another key")  # counted apart
        # No identifier in clear in Redis: the keys are HMACs.
        keys = caches["default"]._cache.get_client().keys("*")
        assert len(keys) == 2 and not any(b"056" in key for key in keys), keys
        # The block ends with the service's clock.
        later = throttle.now() + dt.timedelta(seconds=31)
        monkeypatch.setattr(throttle, "now", lambda: later)
        throttle.check("test.guess", "1 80 01 75 056 001")
        throttle.clear("test.guess", "1 80 01 75 056 001")
        assert caches["default"]._cache.get_client().keys("*") == []
    finally:
        caches["default"].clear()
