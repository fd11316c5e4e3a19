from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _record_section() -> None:
    from omniguichet.crm.services import register_record_section

    register_record_section(
        "recent_documents", lazy_function("omniguichet.documents.services.recent_documents_section")
    )


def _overdue(now):
    from django.db.models import Count

    from omniguichet.baskets.models import WorkItem

    rows = (
        WorkItem.objects.filter(kind="document", is_open=True, deadline__lt=now)
        .values("caisse_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [((row["caisse_id"],), row["n"]) for row in rows]


def _metrics() -> None:
    from omniguichet.core.observability import register_scrape_metric

    register_scrape_metric(
        "omniguichet_documents_overdue",
        "Documents to process past their deadline, by caisse",
        ("caisse",),
        _overdue,
    )


def _document_url(document_id: int) -> str:
    from django.urls import reverse

    return reverse("documents:document", args=[document_id])


def _describe(item) -> str:
    from omniguichet.documents.models import DocumentType

    label = DocumentType(item.summary).label if item.summary in DocumentType.values else item.summary
    return f"{label} #{item.subject_id}"


def _item_kind() -> None:
    from django.utils.translation import gettext_lazy as _

    from omniguichet.baskets.registry import ItemKind, KindAction, register_item_kind

    register_item_kind(
        ItemKind(
            code="document",
            label=_("document"),
            url=_document_url,
            criteria=("document_type", "purpose_kind"),
            describe=_describe,
            actions={
                "accept": KindAction(
                    _("Accept"), lazy_function("omniguichet.documents.services.accept_action"), key="a"
                ),
                "reject": KindAction(
                    _("Reject"),
                    lazy_function("omniguichet.documents.services.reject_action"),
                    needs_reason=True,
                    key="r",
                ),
            },
        )
    )


def _key_canary(sender, using="default", **kwargs) -> None:
    from omniguichet.documents.services.storage import ensure_key_canary

    if using == "default":
        ensure_key_canary()


class DocumentsConfig(AppConfig):
    name = "omniguichet.documents"
    label = "documents"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from omniguichet.documents import checks  # noqa: F401 (registers the document keys' start-up check)

        post_migrate.connect(_key_canary, sender=self, dispatch_uid="omniguichet-document-key-canary")

        # Registered when the customer record's services are imported, not at start-up (issue 15).
        when_imported("omniguichet.crm.services", _record_section)
        when_imported("omniguichet.core.observability", _metrics)
        _item_kind()
