"""The dashboards' figures of the work items closed in the last 30 days (in time or late) by caisse and kind, read
from a partial index of the closed items (documents.services.work_item_figures)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("baskets", "0003_open_item_counts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="workitem",
            index=models.Index(
                condition=models.Q(("is_open", False)),
                fields=["caisse", "kind", "decided_at", "deadline", "is_open"],
                name="workitem_caisse_closed_idx",
            ),
        ),
    ]
