"""django-ninja's `export_openapi_schema`, kept available: ninja is installed through
`core.apps.NinjaAssetsConfig`, whose commands Django cannot import under ninja's own module path."""

from ninja.management.commands.export_openapi_schema import Command

__all__ = ["Command"]
