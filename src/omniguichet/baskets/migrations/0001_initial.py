"""The baskets app: the baskets of documents adopted, work items of every kind, generic transfers and routing rules."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import omniguichet.baskets.models
import omniguichet.crm.validators


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("referential", "0005_default_opening_hours"),
        ("documents", "0005_key_canary"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The baskets of documents become this app's: the table is adopted as it is (state only here), renamed in
        # 0002 once documents' foreign keys point at this model.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Basket",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("ij", "sick pay"),
                                    ("remboursements", "reimbursements"),
                                    ("droits", "rights"),
                                    ("c2s", "C2S (complementary health cover)"),
                                    ("general", "general"),
                                    ("triage", "triage"),
                                    ("to_identify", "to identify"),
                                ],
                                max_length=20,
                                verbose_name="processing kind",
                            ),
                        ),
                        (
                            "caisse",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="baskets",
                                to="referential.caisse",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "basket",
                        "verbose_name_plural": "baskets",
                        "ordering": ["caisse", "kind"],
                        "db_table": "documents_basket",
                    },
                ),
                migrations.AddConstraint(
                    model_name="basket",
                    constraint=models.UniqueConstraint(
                        fields=("caisse", "kind"), name="basket_one_per_caisse_kind"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="basket",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("kind__in", ["ij", "remboursements", "droits", "c2s", "general"])
                        ),
                        name="basket_kind_known",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.CreateModel(
            name="RoutingRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "item_kind",
                    models.CharField(
                        choices=omniguichet.baskets.models._item_kind_choices,
                        max_length=30,
                        verbose_name="kind of item",
                    ),
                ),
                (
                    "document_type",
                    models.CharField(blank=True, default="", max_length=32, verbose_name="document type"),
                ),
                (
                    "purpose_kind",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="empty: every purpose",
                        max_length=20,
                        verbose_name="purpose",
                    ),
                ),
                (
                    "motive",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="empty: every motive",
                        max_length=40,
                        verbose_name="motive",
                    ),
                ),
                (
                    "subject_words",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="comma-separated; one of them in the subject is enough (case and accents ignored)",
                        max_length=200,
                        verbose_name="words in the subject",
                    ),
                ),
                (
                    "processing_kind",
                    models.CharField(
                        choices=[
                            ("ij", "sick pay"),
                            ("remboursements", "reimbursements"),
                            ("droits", "rights"),
                            ("c2s", "C2S (complementary health cover)"),
                            ("general", "general"),
                            ("triage", "triage"),
                            ("to_identify", "to identify"),
                        ],
                        max_length=20,
                        verbose_name="processing kind",
                    ),
                ),
                (
                    "priority",
                    models.PositiveSmallIntegerField(
                        default=100, help_text="lowest first", verbose_name="priority"
                    ),
                ),
            ],
            options={
                "verbose_name": "routing rule",
                "verbose_name_plural": "routing rules",
                "ordering": ["item_kind", "priority", "document_type", "purpose_kind", "motive"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("item_kind", "document_type", "purpose_kind", "motive", "subject_words"),
                        name="basket_routing_rule_unique",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "processing_kind__in",
                                ["ij", "remboursements", "droits", "c2s", "general", "triage", "to_identify"],
                            )
                        ),
                        name="basket_routing_rule_kind_known",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="WorkItem",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        max_length=30,
                        validators=[omniguichet.crm.validators.validate_work_item_kind],
                        verbose_name="kind",
                    ),
                ),
                ("subject_id", models.BigIntegerField(verbose_name="subject reference")),
                ("summary", models.CharField(max_length=200, verbose_name="summary")),
                ("received_at", models.DateTimeField(verbose_name="received at")),
                ("deadline", models.DateTimeField(verbose_name="deadline")),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "to process"), ("claimed", "claimed"), ("closed", "closed")],
                        default="open",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("is_open", models.BooleanField(default=True, verbose_name="to process")),
                ("claimed_at", models.DateTimeField(blank=True, null=True, verbose_name="claimed at")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="closed at")),
                ("outcome", models.CharField(blank=True, default="", max_length=40, verbose_name="outcome")),
                ("transfer_count", models.PositiveIntegerField(default=0, verbose_name="transfers")),
                (
                    "routed_by",
                    models.CharField(blank=True, default="", max_length=30, verbose_name="routed by"),
                ),
                (
                    "routing_confidence",
                    models.FloatField(blank=True, null=True, verbose_name="confidence of the routing"),
                ),
                (
                    "basket",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="items",
                        to="baskets.basket",
                    ),
                ),
                (
                    "caisse",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="referential.caisse",
                    ),
                ),
                (
                    "claimed_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="work_items",
                        to="referential.person",
                    ),
                ),
            ],
            options={
                "verbose_name": "work item",
                "verbose_name_plural": "work items",
            },
        ),
        migrations.CreateModel(
            name="Transfer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.CharField(max_length=300, verbose_name="reason")),
                ("at", models.DateTimeField(auto_now_add=True, verbose_name="at")),
                (
                    "agent",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "from_basket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="baskets.basket"
                    ),
                ),
                (
                    "to_basket",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="baskets.basket"
                    ),
                ),
                (
                    "item",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="transfers",
                        to="baskets.workitem",
                    ),
                ),
            ],
            options={
                "verbose_name": "transfer",
                "verbose_name_plural": "transfers",
            },
        ),
        migrations.AddIndex(
            model_name="workitem",
            index=models.Index(
                condition=models.Q(("is_open", True)),
                fields=["basket", "deadline", "id"],
                name="workitem_basket_todo_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="workitem",
            constraint=models.UniqueConstraint(
                fields=("kind", "subject_id"), name="workitem_one_per_subject"
            ),
        ),
        migrations.AddConstraint(
            model_name="workitem",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["open", "claimed", "closed"])),
                name="workitem_status_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="workitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("is_open", True), ("status__in", ["open", "claimed"])),
                    models.Q(("is_open", False), ("status", "closed")),
                    _connector="OR",
                ),
                name="workitem_is_open_matches_status",
            ),
        ),
        migrations.AddConstraint(
            model_name="workitem",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "closed"), ("outcome", ""), _connector="OR"),
                name="workitem_outcome_when_closed",
            ),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(fields=["at"], name="basket_transfer_at_idx"),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(("from_basket", models.F("to_basket")), _negated=True),
                name="basket_transfer_moves",
            ),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(("reason", ""), _negated=True), name="basket_transfer_has_reason"
            ),
        ),
    ]
