import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from django.apps import AppConfig
from django.utils.module_loading import import_string


class CoreConfig(AppConfig):
    name = "omniguichet.core"
    label = "core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_staff_logged_in, dispatch_uid="omniguichet-staff-session")
        # The request id carried into tasks (core.observability), once django-tasks' signals exist.
        when_imported("django_tasks.signals", _connect_task_signals)

    def on_worker_start(self) -> None:
        """Called by `omniguichet worker` before it polls: the daily creation of the coming months' partitions, and
        the daily retention of the old ones."""
        from omniguichet.core.tasks import start_partitions_ahead, start_partitions_retention

        start_partitions_ahead()
        start_partitions_retention()


def _connect_task_signals() -> None:
    from omniguichet.core.observability import connect_task_signals

    connect_task_signals()


def _staff_logged_in(sender, request, user, **kwargs) -> None:
    from omniguichet.core.guards import is_staff_login, start_staff_session

    if request is not None and hasattr(request, "session") and is_staff_login(user):
        start_staff_session(request)


# --- wiring between apps, done when first needed ---------------------------------------------------------------
_after_import: dict[str, list[Callable[[], None]]] = {}


class _AfterImportFinder(importlib.abc.MetaPathFinder):
    """Runs the callbacks of `when_imported` right after their module has been executed.

    It finds the module with the other finders and only wraps the `exec_module` of that one loader instance, so
    the module keeps its real loader (sources in tracebacks, resources)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _after_import:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run_module = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            for callback in _after_import.pop(fullname, []):
                callback()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_finder = _AfterImportFinder()


def when_imported(module: str, callback: Callable[[], None]) -> None:
    """Run `callback()` once `module` is imported: now if it already is, otherwise right after its import.

    Apps plug into another app's services (record sections, deposit purposes, event handlers...) from their
    `AppConfig.ready()`. Importing those services there made every process, `omniguichet help` included, import
    every app's services (issue 15). The registries live in the services they serve, so a registration is only
    needed once that module exists: `ready()` calls `when_imported("omniguichet.crm.services", register)`.
    The callback may import the module it registers into (executed by then), but it registers its own
    functions through `lazy_function`: the callback can run while its own services are still being imported.
    """
    if module in sys.modules:
        callback()
        return
    _after_import.setdefault(module, []).append(callback)
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def lazy_function(path: str) -> Callable[..., Any]:
    """A function that imports `path` ("package.module.name") on its first call, then calls it."""
    target: Callable[..., Any] | None = None

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal target
        if target is None:
            target = import_string(path)
        return target(*args, **kwargs)

    call.__name__ = path.rpartition(".")[2]
    call.__qualname__ = path
    return call


class TaskHook:
    """Work a services module hands to the worker, without importing its tasks module (which imports the
    services: a task module imports its service, never the reverse). The services declare the hook; their app's
    `ready()` points it at a function of the tasks module (`lazy_function`), when the services are imported."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._target: Callable[..., Any] | None = None

    def set(self, target: Callable[..., Any]) -> None:
        self._target = target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._target is None:
            raise RuntimeError(f"no task behind {self.name}: its app's ready() sets it")
        return self._target(*args, **kwargs)


# --- django-ninja's assets ---------------------------------------------------------------------------------------
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
