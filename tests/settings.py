"""The project's settings, plus what only the tests use: django-oauth-toolkit as a fake FranceConnect provider
(tests/accounts/oidc_provider.py). The platform itself does not install it until its identity app does."""

from omniguichet.settings import *  # noqa: F403
from omniguichet.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "oauth2_provider"]

# The test process keeps a cache of its own, emptied before each test (tests/conftest.py), whatever the cache
# configured: the shared caches (the database's table, Redis) are tested with real processes
# (tests/core/test_shared_cache.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
THROTTLE_STORAGE = "database"
