"""Message templates: the variables each kind of message may use, the check of a template's texts, and their
rendering. Below the ledger's services and models (the admin's checks of templates and rules use it)."""

from __future__ import annotations

import string
from collections import defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext as _

PERSON_VARIABLES = frozenset({"first_name", "last_name", "full_name"})


@dataclass(frozen=True)
class EventKinds:
    """What an app that triggers messages from its events tells the ledger (cases registers its own): the
    variables a template may use for each event type, those of every event, and the subject types a rule may be
    restricted to."""

    variables: dict[str, frozenset[str]]
    common: frozenset[str] = frozenset()
    subject_types: frozenset[str] = frozenset()


_event_kinds = EventKinds(variables={})


def register_event_kinds(kinds: EventKinds) -> None:
    """Called at start-up (AppConfig.ready) by the app whose events trigger messages."""
    global _event_kinds
    _event_kinds = kinds


def event_kinds() -> EventKinds:
    return _event_kinds


def template_variables(event_type: str) -> frozenset[str]:
    if not event_type:
        return PERSON_VARIABLES
    kinds = _event_kinds
    return PERSON_VARIABLES | kinds.common | kinds.variables.get(event_type, frozenset())


def placeholders(text: str) -> list[str]:
    """The names a template text refers to; ValueError for a malformed one ({x.y}, {x!r}, {x:>3}, "{")."""
    names = []
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(_("{%(n)s} is not a plain variable like {first_name}") % {"n": name})
        names.append(name)
    return names


def check_template(event_type: str, *, subject: str, body: str, sms_body: str) -> dict[str, str]:
    """Reasons, by field, why these texts cannot be sent for this event type (empty when they can)."""
    if event_type and event_type not in _event_kinds.variables:
        return {"event_type": _("unknown event type")}
    allowed = template_variables(event_type)
    errors: dict[str, str] = {}
    for name, text in (("subject", subject), ("body", body), ("sms_body", sms_body)):
        try:
            missing = sorted(set(placeholders(text or "")) - allowed)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if missing:
            errors[name] = _("unknown variables %(names)s (available: %(all)s)") % {
                "names": ", ".join(f"{{{m}}}" for m in missing),
                "all": ", ".join(sorted(allowed)),
            }
    return errors


def render(text: str, context: dict[str, str]) -> str:
    return text.format_map(defaultdict(str, context))
