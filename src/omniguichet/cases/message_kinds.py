"""The kinds of messages case events trigger, as the outbound ledger's templates see them: the variables of every
message about a case and those each event type adds (registered with the ledger at start-up, cases.apps)."""

# The variables of the messages about a case, and those each event type adds (the ledger's templates are checked
# against them).
CASE_VARIABLES = frozenset({"case_reference", "case_type", "caisse_name", "expected_decision_on"})
EVENT_VARIABLES: dict[str, frozenset[str]] = {
    "opened": frozenset(),
    "document_missing": frozenset({"document_label", "due_on", "deposit_url"}),
    "document_received": frozenset({"document_label"}),
    "expected_date_changed": frozenset(),
    "decision": frozenset({"outcome", "reason"}),
    "payment": frozenset({"amount", "paid_on", "period_from", "period_to"}),
    "card_shipped": frozenset({"card"}),
    "closed": frozenset({"reason"}),
}
