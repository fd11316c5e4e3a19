"""Baskets move to the baskets app (state only: the table is adopted there, then renamed by baskets 0002)."""

import django.db.models.deletion
from django.db import migrations, models

KINDS = [
    ("ij", "sick pay"), ("remboursements", "reimbursements"), ("droits", "rights"),
    ("c2s", "C2S (complementary health cover)"), ("general", "general"), ("triage", "triage"),
    ("to_identify", "to identify"),
]  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("baskets", "0001_initial"),
        ("documents", "0005_key_canary"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="document",
                    name="basket",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="documents",
                        to="baskets.basket",
                    ),  # fmt: skip
                ),
                migrations.AlterField(
                    model_name="transfer",
                    name="from_basket",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="baskets.basket"
                    ),
                ),
                migrations.AlterField(
                    model_name="transfer",
                    name="to_basket",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="baskets.basket"
                    ),
                ),
                migrations.DeleteModel(name="Basket"),
            ],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name="documentrequest",
            name="processing_kind",
            field=models.CharField(
                blank=True, choices=KINDS, default="", max_length=20, verbose_name="processing kind"
            ),
        ),
    ]
