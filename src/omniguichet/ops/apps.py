from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operating the platform: backup and restore (docs/operations.md). Above every app, beside the CLI."""

    name = "omniguichet.ops"
    label = "ops"
