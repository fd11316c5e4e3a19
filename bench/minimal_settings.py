"""Django with a minimal settings module: the baseline of `bench.startup` and of tests/core/test_startup.py
(what `django-admin help` costs before any project code)."""

SECRET_KEY = "bench-startup-minimal-settings"  # never used to sign anything
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
