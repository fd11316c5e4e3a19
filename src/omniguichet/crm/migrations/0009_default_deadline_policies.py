"""The default deadline policies (issue 17, section 5): messages and e-mails 48 calendar hours, as the indicator
email_48h_rate counts them; documents 10 days after receipt (240 calendar hours), as documents compute it
(documents.services.DEFAULT_DEADLINE_DAYS, a document request's own date aside)."""

from django.db import migrations

DEFAULTS = [
    ("message", 48, "calendar_hours"),
    ("email", 48, "calendar_hours"),
    ("document", 240, "calendar_hours"),
]


def seed(apps, schema_editor):
    DeadlinePolicy = apps.get_model("crm", "DeadlinePolicy")
    for kind, duration, unit in DEFAULTS:
        DeadlinePolicy.objects.get_or_create(
            kind=kind, motive=None, defaults={"duration": duration, "unit": unit}
        )


def unseed(apps, schema_editor):
    apps.get_model("crm", "DeadlinePolicy").objects.filter(
        motive=None, kind__in=[k for k, _, _ in DEFAULTS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0008_deadline_policies")]
    operations = [migrations.RunPython(seed, unseed)]
