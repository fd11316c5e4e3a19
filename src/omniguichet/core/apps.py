import importlib.util

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "omniguichet.core"
    label = "core"


def _ninja_package_dir() -> str:
    """django-ninja's directory, found without importing the package (find_spec of a top-level name)."""
    spec = importlib.util.find_spec("ninja")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("django-ninja is not installed")
    return next(iter(spec.submodule_search_locations))


class NinjaAssetsConfig(AppConfig):
    """django-ninja's templates and static files (the API documentation page, served without a CDN), installed
    without importing django-ninja.

    "ninja" in INSTALLED_APPS makes Django import the package at start-up, and its `__init__` imports pydantic,
    the whole API machinery and django.test (with jinja2): about 0.2 s paid by every command, worker process and
    web server start (issue 15). This app has no code of its own: it points Django at ninja's directory for its
    templates and static files; the API (core.api) imports ninja when the URL conf is loaded. The docs page is
    rendered by `core.api.LocalSwagger`, since ninja itself looks for the string "ninja" in INSTALLED_APPS.
    Its one command, `export_openapi_schema`, is re-exported by the core app (listed before this one, so it
    wins).
    """

    default = False  # never picked for "omniguichet.core" itself
    name = "omniguichet.core.apps"  # a module already loaded: the label and the path are what matter
    label = "ninja"
    verbose_name = "django-ninja (templates and static files)"
    path = _ninja_package_dir()
