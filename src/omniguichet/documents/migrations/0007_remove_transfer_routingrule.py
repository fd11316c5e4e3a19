"""Transfers and routing rules now live in the baskets app (copied there by baskets 0002)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("baskets", "0002_adopt_documents"),
        ("documents", "0006_baskets_app"),
    ]

    operations = [
        migrations.DeleteModel(name="Transfer"),
        migrations.DeleteModel(name="RoutingRule"),
    ]
