"""Baskets (corbeilles): the shared work queues of the caisses. Every piece of incoming work that a person of the
back office must handle (a deposited document, a secure message, an e-mail, ...) is one work item, in exactly one
basket of one caisse, with a deadline. The apps that bring the work register their kinds (services.registry)."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND, WhereNode
from django.utils.translation import gettext_lazy as _

from omniguichet.crm.validators import validate_work_item_kind
from omniguichet.referential.models import Caisse, Person


class ProcessingKind(models.TextChoices):
    """The kinds of back-office processing: one basket per caisse for each."""

    IJ = "ij", _("sick pay")
    REMBOURSEMENTS = "remboursements", _("reimbursements")
    DROITS = "droits", _("rights")
    C2S = "c2s", _("C2S (complementary health cover)")
    GENERAL = "general", _("general")
    # Messages whose motive the classifier could not tell with enough confidence: an agent sorts them.
    TRIAGE = "triage", _("triage")
    # E-mails from senders no verified address identifies: an agent attaches them to a person.
    TO_IDENTIFY = "to_identify", _("to identify")


class Basket(models.Model):
    """A work queue of one caisse for one kind of processing."""

    caisse = models.ForeignKey(Caisse, on_delete=models.PROTECT, related_name="baskets", db_index=False)
    kind = models.CharField(_("processing kind"), max_length=20, choices=ProcessingKind.choices)

    class Meta:
        ordering = ["caisse", "kind"]
        verbose_name = _("basket")
        verbose_name_plural = _("baskets")
        constraints = [
            models.UniqueConstraint(fields=["caisse", "kind"], name="basket_one_per_caisse_kind"),
            models.CheckConstraint(condition=Q(kind__in=ProcessingKind.values), name="basket_kind_is_known"),
        ]

    def __str__(self) -> str:
        return f"{self.caisse_id} — {self.get_kind_display()}"


class ItemStatus(models.TextChoices):
    OPEN = "open", _("to process")
    CLAIMED = "claimed", _("claimed")
    CLOSED = "closed", _("closed")


class WorkItem(models.Model):
    """One piece of work in a basket. `kind` and `subject_id` name the subject in the app that owns it (a document,
    a conversation); that app keeps the item in step with its subject, in the same transaction."""

    kind = models.CharField(_("kind"), max_length=30, validators=[validate_work_item_kind])
    subject_id = models.BigIntegerField(_("subject reference"))
    # Empty only for an e-mail whose sender is not identified yet.
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="work_items", db_index=False
    )
    caisse = models.ForeignKey(Caisse, on_delete=models.PROTECT, related_name="+", db_index=False)
    basket = models.ForeignKey(Basket, on_delete=models.PROTECT, related_name="items", db_index=False)
    # What the list shows without reading the subject (a document's type, a conversation's subject).
    summary = models.CharField(_("summary"), max_length=200)
    received_at = models.DateTimeField(_("received at"))
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(_("status"), max_length=10, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    # True while open or claimed (kept by the services, checked by a constraint): the partial index below is used
    # with bound parameters too, which `status IN (...)` does not allow on SQLite.
    is_open = models.BooleanField(_("to process"), default=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )  # fmt: skip
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )  # fmt: skip
    decided_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=40, blank=True, default="")
    transfer_count = models.PositiveIntegerField(_("transfers"), default=0)
    # How the item reached its basket: "rule:<id>", "model" (the classifier's suggestion), "triage" (a suggestion
    # below the threshold), "unknown_sender", "default", "transfer", or "migration".
    routed_by = models.CharField(_("routed by"), max_length=30, blank=True, default="")
    routing_confidence = models.FloatField(_("confidence of the routing"), null=True, blank=True)

    class Meta:
        verbose_name = _("work item")
        verbose_name_plural = _("work items")
        indexes = [
            # The basket console: open items of one basket, oldest deadline first, keyset on (deadline, id).
            models.Index(
                fields=["basket", "deadline", "id"],
                name="workitem_basket_todo_idx",
                condition=Q(is_open=True),
            ),
            # The baskets' overdue counts: one range (basket, kind, deadline < now) per basket and kind, read
            # from the index alone (the open counts are OpenItemCount's). `is_open` is in it for SQLite, which
            # reads the table for a column of the partial index's condition otherwise.
            models.Index(
                fields=["basket", "kind", "deadline", "is_open"],
                name="workitem_basket_kind_due_idx",
                condition=Q(is_open=True),
            ),
            # The console's transfer report: the items a caisse received since a date (transfer_report).
            models.Index(fields=["caisse", "received_at"], name="workitem_caisse_received_idx"),
            # The dashboards' figures of the items closed in the last 30 days, in time or late, by caisse and kind
            # (documents.services.work_item_figures); `is_open` in it for SQLite, as above.
            models.Index(
                fields=["caisse", "kind", "decided_at", "deadline", "is_open"],
                name="workitem_caisse_closed_idx",
                condition=Q(is_open=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject_id"], name="workitem_one_per_subject"),
            models.CheckConstraint(condition=Q(status__in=ItemStatus.values), name="workitem_status_known"),
            models.CheckConstraint(
                condition=Q(is_open=True, status__in=["open", "claimed"]) | Q(is_open=False, status="closed"),
                name="workitem_is_open_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(status="closed") | Q(outcome=""), name="workitem_outcome_when_closed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.subject_id}"


class OpenItemCount(models.Model):
    """How many open items a basket holds of one kind, as signed deltas summed on read: database triggers on the
    work items (migration 0003, SQLite and PostgreSQL) add a row for every change of an item's basket, kind or open
    state, in the writer's transaction, whoever writes (services, bulk updates, raw SQL, migrations). Rows are only
    ever inserted by writers (no lock is shared between two deposits into one basket); `compact_counts` folds them
    into one row per basket and kind (the outreach sweep runs it). See docs/baskets.md."""

    basket = models.ForeignKey(Basket, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=30)
    n = models.IntegerField(_("change of the open count"))

    class Meta:
        verbose_name = _("open item count")
        verbose_name_plural = _("open item counts")
        # The read (sum per basket and kind of the caisse's baskets) from the index alone.
        indexes = [models.Index(fields=["basket", "kind", "n"], name="basket_open_count_idx")]

    def __str__(self) -> str:
        return f"{self.basket_id} {self.kind} {self.n:+d}"


class Transfer(models.Model):
    """An item moved from one basket to another, with the reason: the count of these is reported."""

    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="transfers")
    from_basket = models.ForeignKey(Basket, on_delete=models.PROTECT, related_name="+")
    to_basket = models.ForeignKey(Basket, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        indexes = [models.Index(fields=["at"], name="basket_transfer_at_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_basket=models.F("to_basket")), name="basket_transfer_moves"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="basket_transfer_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.from_basket_id} -> {self.to_basket_id}"


def _item_kind_choices() -> list[tuple[str, str]]:
    from omniguichet.baskets.registry import kind_choices

    return kind_choices()


class RoutingRule(models.Model):
    """Which kind of processing (so which basket of the caisse) an incoming item goes to. A rule names the item's
    kind and, as the kind allows, a document type and purpose (documents) or a motive and words of the subject
    (messages, e-mails). The most specific matching rule wins; then the lowest priority number. Edited in the
    admin; the defaults come from data migrations."""

    item_kind = models.CharField(_("kind of item"), max_length=30, choices=_item_kind_choices)
    document_type = models.CharField(_("document type"), max_length=32, blank=True, default="")
    purpose_kind = models.CharField(
        _("purpose"), max_length=20, blank=True, default="", help_text=_("empty: every purpose")
    )
    motive = models.CharField(
        _("motive"), max_length=40, blank=True, default="", help_text=_("empty: every motive")
    )
    subject_words = models.CharField(
        _("words in the subject"), max_length=200, blank=True, default="",
        help_text=_("comma-separated; one of them in the subject is enough (case and accents ignored)"),
    )  # fmt: skip
    processing_kind = models.CharField(_("processing kind"), max_length=20, choices=ProcessingKind.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100, help_text=_("lowest first"))

    class Meta:
        ordering = ["item_kind", "priority", "document_type", "purpose_kind", "motive"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.UniqueConstraint(
                fields=["item_kind", "document_type", "purpose_kind", "motive", "subject_words"],
                name="basket_routing_rule_unique",
            ),
            models.CheckConstraint(
                condition=Q(processing_kind__in=ProcessingKind.values), name="basket_routing_rule_kind_known"
            ),
        ]

    def __str__(self) -> str:
        criteria = [c for c in (self.document_type, self.purpose_kind, self.motive, self.subject_words) if c]
        return f"{self.item_kind} [{', '.join(criteria) or '*'}] -> {self.processing_kind}"

    def clean(self) -> None:
        from omniguichet.baskets.registry import criteria_of
        from omniguichet.crm.models import Motive

        super().clean()
        allowed = criteria_of(self.item_kind)
        errors = {}
        for name in ("document_type", "purpose_kind", "motive", "subject_words"):
            if getattr(self, name) and name not in allowed:
                errors[name] = _("this kind of item is not routed by this criterion")
        if self.motive and "motive" not in errors and not Motive.objects.filter(code=self.motive).exists():
            errors["motive"] = _("unknown motive")
        if self.subject_words and not any(w.strip() for w in self.subject_words.split(",")):
            errors["subject_words"] = _("give at least one word")
        if errors:
            raise ValidationError(errors)


class _SubjectItemDescriptor(ForwardManyToOneDescriptor):
    """`prefetch_related("item")` reads the items of the field's kind only (a prefetch query does not go through
    the join, so not through get_extra_restriction)."""

    def get_prefetch_querysets(self, instances: Any, querysets: Any = None) -> Any:
        queryset = querysets[0] if querysets else self.get_queryset(instance=instances[0])
        return super().get_prefetch_querysets(instances, [queryset.filter(kind=self.field.item_kind)])


class SubjectItem(models.ForeignObject):
    """On a subject's model (a document, ...): its work item, joined on `subject_id` and the item kind, with no
    column of its own. Lists read the item in the same query (`select_related("item")`) and filter or order on
    it (`item__deadline`); the join uses the unique index (kind, subject_id). Read-only: the items are written
    through baskets.services."""

    # (kind, subject_id) is unique, and the join always names the kind (get_extra_restriction).
    requires_unique_target = False
    # No column, so no foreign key constraint (the schema editors ask when the field is removed).
    db_constraint = False
    forward_related_accessor_class = _SubjectItemDescriptor

    def __init__(self, item_kind: str, **kwargs: Any) -> None:
        self.item_kind = item_kind
        kwargs.update(
            to="baskets.WorkItem", on_delete=models.DO_NOTHING, from_fields=["id"], to_fields=["subject_id"],
            related_name="+",
        )  # fmt: skip
        super().__init__(**kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for key in ("to", "on_delete", "from_fields", "to_fields", "related_name"):
            kwargs.pop(key, None)
        return name, path, args, {**kwargs, "item_kind": self.item_kind}

    def get_extra_restriction(self, alias: str, related_alias: str) -> WhereNode:
        kind = cast(models.Field, WorkItem._meta.get_field("kind"))
        lookup: Any = Exact(kind.get_col(alias), self.item_kind)  # a node (django-stubs: Node only)
        return WhereNode([lookup], connector=AND)

    def get_extra_descriptor_filter(self, instance: models.Model) -> dict[str, str]:
        return {"kind": self.item_kind}
