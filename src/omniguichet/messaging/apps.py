from django.apps import AppConfig

from omniguichet.core.apps import lazy_function, when_imported


def _inbox() -> None:
    from omniguichet.accounts.services import register_inbox_provider

    register_inbox_provider(lazy_function("omniguichet.messaging.services.inbox_items"))


def _record_links() -> None:
    from omniguichet.crm.services import register_retimer, register_subject_link

    register_subject_link("message", lazy_function("omniguichet.messaging.services.agent_thread_url"))
    # A change of the "message" deadline policies re-times the waiting threads (docs/deadlines.md).
    register_retimer("message", lazy_function("omniguichet.messaging.services.deadlines.retime_threads"))
    register_retimer("email", lazy_function("omniguichet.messaging.services.deadlines.retime_email_threads"))


def _overdue(now):
    from django.db.models import Count

    from omniguichet.messaging.models import Thread, ThreadStatus

    rows = (
        Thread.objects.filter(status=ThreadStatus.WAITING, deadline__lt=now)
        .values("caisse_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [((row["caisse_id"],), row["n"]) for row in rows]


def _metrics() -> None:
    from omniguichet.core.observability import register_scrape_metric

    register_scrape_metric(
        "omniguichet_messages_overdue", "Conversations waiting past their answer deadline, by caisse", ("caisse",),
        _overdue,
    )  # fmt: skip


def _dashboard() -> None:
    from django.utils.translation import gettext_lazy

    from omniguichet.analytics.services import register_work_items

    register_work_items(
        "message", gettext_lazy("Conversations (secure messages)"),
        lazy_function("omniguichet.messaging.services.work_item_figures"),
    )  # fmt: skip


def _thread_url(thread_id: int) -> str:
    from django.urls import reverse

    return reverse("messaging:agent_thread", args=[thread_id])


def _item_kinds() -> None:
    from django.utils.translation import gettext_lazy

    from omniguichet.baskets.registry import ItemKind, KindAction, register_item_kind

    claimed = lazy_function("omniguichet.messaging.services.items.after_items_claimed")
    close = KindAction(
        gettext_lazy("Close, no answer needed"), lazy_function("omniguichet.messaging.services.answers.close_action"),
        key="l",
    )  # fmt: skip
    for code, label in (("message", gettext_lazy("secure message")), ("email", gettext_lazy("e-mail"))):
        register_item_kind(
            ItemKind(
                code=code, label=label, url=_thread_url, criteria=("motive", "subject_words"),
                after_claim=claimed, actions={"close": close},
            )
        )  # fmt: skip


class MessagingConfig(AppConfig):
    name = "omniguichet.messaging"
    label = "messaging"
    verbose_name = "Secure messaging"

    def ready(self) -> None:
        # Registered when the account's and the record's services are imported, not at start-up (issue 15).
        when_imported("omniguichet.accounts.services", _inbox)
        when_imported("omniguichet.crm.services", _record_links)
        when_imported("omniguichet.core.observability", _metrics)
        when_imported("omniguichet.analytics.services", _dashboard)
        _item_kinds()
