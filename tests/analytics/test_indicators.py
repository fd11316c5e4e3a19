"""Each indicator on hand-made data; the expected numbers are written here, worked out by hand."""

from __future__ import annotations

import pytest

from omniguichet.analytics.engine import compute
from tests.analytics.data import contact, person, warehouse


def by_key(result, by="year"):
    return {(r.caisse, r.period, r.indicator): r for r in result.rows(by)}


def figures(row):
    return (row.numerator, row.denominator, row.value, row.target, row.met)


@pytest.fixture(params=["parquet", "csv"])
def fmt(request):
    return request.param


def test_periods_follow_paris_local_time(tmp_path, fmt):
    at = [
        "2024-12-31T22:59:59",  # 23:59:59 in Paris: 2024
        "2024-12-31T23:30:00",  # 00:30 on 1 January in Paris: 2025-01
        "2025-03-30T00:30:00",  # DST day (01:30 CET, clocks go forward at 01:00 UTC): March
        "2025-03-30T01:30:00",  # DST day, 03:30 CEST: March
        "2025-03-31T21:59:59",  # 23:59:59 CEST: March
        "2025-03-31T22:00:00",  # 00:00 CEST on 1 April: April
        "2025-10-26T00:30:00",  # DST day (02:30 CEST, clocks go back at 01:00 UTC): October
        "2025-10-31T22:59:59",  # 23:59:59 CET: October
        "2025-10-31T23:00:00",  # 00:00 CET on 1 November: November
        "2025-12-31T23:30:00",  # 00:30 on 1 January 2026 in Paris: not in 2025
    ]
    contacts = [contact(t, answered=True) for t in at]
    paths = warehouse(tmp_path, contacts, [], fmt)
    result = compute(contacts=paths[0], persons=paths[1], year=2025)
    year = by_key(result)
    assert figures(year[("011", "2025", "phone_answer_rate")]) == (8, 8, 1.0, 1.0, True)
    month = by_key(result, "month")
    dens = {p: month[("011", f"2025-{p:02d}", "phone_answer_rate")].denominator for p in range(1, 13)}
    assert dens == {1: 1, 2: 0, 3: 3, 4: 1, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 10: 2, 11: 1, 12: 0}
    # A month without phone contact has no value and is not met; the target is the same every month.
    assert figures(month[("011", "2025-02", "phone_answer_rate")]) == (0, 0, None, 1.0, False)
    assert month[("011", "2025-03", "phone_answer_rate")].target == 1.0
    assert [r.period for r in result.rows("month")][:7] == ["2025-01"] * 7


def test_recontact_rate(tmp_path, fmt):
    week = 604_800
    contacts = [
        # p1: the second contact comes exactly 604,800 s after the first (counts), the third 604,801 s after the
        # second (does not).
        contact("2025-05-05T10:00:00", person="p1", motive="m"),
        contact("2025-05-12T10:00:00", person="p1", motive="m", channel="web"),
        contact("2025-05-19T10:00:01", person="p1", motive="m"),
        # p2: two contacts at the same instant: neither is the other's follow-up.
        contact("2025-06-01T08:00:00", person="p2", motive="m"),
        contact("2025-06-01T08:00:00", person="p2", motive="m", channel="email"),
        # p3: another motive is not a recontact.
        contact("2025-06-01T08:00:00", person="p3", motive="a"),
        contact("2025-06-01T08:00:10", person="p3", motive="b"),
        # p4: an outbound contact is not a recontact (and does not count at all).
        contact("2025-06-01T08:00:00", person="p4", motive="m"),
        contact("2025-06-01T08:00:10", person="p4", motive="m", direction="outbound"),
        # p5: the follow-up happens in another caisse and on another channel: counts for the first caisse.
        contact("2025-07-01T08:00:00", person="p5", motive="m", caisse="011"),
        contact("2025-07-01T08:01:00", person="p5", motive="m", caisse="751", channel="web"),
        # p6: the follow-up is in 2026 (looked up beyond the end of the period).
        contact("2025-12-31T20:00:00", person="p6", motive="m"),
        contact("2026-01-02T10:00:00", person="p6", motive="m"),
        # p7: two at the same instant followed by a third: both first ones count.
        contact("2025-08-01T08:00:00", person="p7", motive="m"),
        contact("2025-08-01T08:00:00", person="p7", motive="m"),
        contact("2025-08-01T08:01:40", person="p7", motive="m"),
        # 2024, for the target: 1 of 2 followed up.
        contact("2024-06-01T08:00:00", person="p8", motive="m"),
        contact("2024-06-02T08:00:00", person="p8", motive="m"),
    ]
    assert week == 7 * 24 * 3600
    paths = warehouse(tmp_path, contacts, [person("p1", "2B1")], fmt)
    result = compute(contacts=paths[0], persons=paths[1], year=2025)
    rows = by_key(result)
    # 011: p1 3 (1 followed), p2 2 (0), p3 2 (0), p4 1 (0), p5 1 (1), p6 1 (1), p7 3 (2) = 5 / 13.
    assert figures(rows[("011", "2025", "recontact_rate")]) == (5, 13, 5 / 13, 0.5, True)
    assert figures(rows[("751", "2025", "recontact_rate")]) == (0, 1, 0.0, 0.5, True)
    # A caisse known only from its persons: no contact, no value, not met.
    assert figures(rows[("2B1", "2025", "recontact_rate")]) == (0, 0, None, 0.5, False)
    month = by_key(result, "month")
    assert figures(month[("011", "2025-05", "recontact_rate")])[:2] == (1, 3)
    assert figures(month[("011", "2025-12", "recontact_rate")])[:2] == (1, 1)


def test_recontact_rate_above_target_is_not_met(tmp_path):
    contacts = [
        contact("2024-03-01T08:00:00", person="a"),
        contact("2024-03-20T08:00:00", person="a"),  # 2024: 0 of 2 followed up: target 0.0
        contact("2025-03-01T08:00:00", person="b"),
        contact("2025-03-01T09:00:00", person="b"),
    ]
    paths = warehouse(tmp_path, contacts, [])
    rows = by_key(compute(contacts=paths[0], persons=paths[1], year=2025))
    assert figures(rows[("011", "2025", "recontact_rate")]) == (1, 2, 0.5, 0.0, False)


def test_demat_rate(tmp_path, fmt):
    contacts = [
        contact("2025-02-01T10:00:00", motive="attestation_droits", channel="web"),
        contact("2025-02-01T10:00:00", motive="attestation_droits", channel="phone"),
        contact("2025-02-01T10:00:00", motive="carte_europeenne", channel="kiosk"),
        contact("2025-02-01T10:00:00", motive="changement_rib", channel="app"),
        contact("2025-02-01T10:00:00", motive="remboursement", channel="web"),  # not a demat motive
        contact("2025-02-01T10:00:00", motive="attestation_droits", channel="web", direction="outbound"),
        contact("2024-02-01T10:00:00", motive="attestation_ij", channel="reception"),
        contact("2024-02-01T10:00:00", motive="releve_remboursements", channel="app"),
        contact("2024-02-01T10:00:00", motive="changement_adresse", channel="letter", caisse="751"),
        contact("2024-02-01T10:00:00", motive="changement_adresse", channel="web", caisse="751"),
    ]
    paths = warehouse(tmp_path, contacts, [], fmt)
    rows = by_key(compute(contacts=paths[0], persons=paths[1], year=2025))
    assert figures(rows[("011", "2025", "demat_rate")]) == (3, 4, 0.75, 0.5, True)
    assert figures(rows[("751", "2025", "demat_rate")]) == (0, 0, None, 0.5, False)


def test_account_rate(tmp_path, fmt):
    persons = [
        person("a", "011", "2024-06-01T10:00:00"),
        person("b", "011", "2025-12-31T22:59:59"),  # 23:59:59 in Paris: before the end of 2025
        person("c", "011", "2025-12-31T23:30:00"),  # 2026 in Paris: not before the end of 2025
        person("f", "011", "2025-12-31T23:00:00"),  # exactly the end of 2025 in Paris: not before it
        person("d", "011", None),
        person("e", "751", "2023-01-01T00:00:00"),
    ]
    paths = warehouse(tmp_path, [], persons, fmt)
    result = compute(contacts=paths[0], persons=paths[1], year=2025)
    rows = by_key(result)
    # Target: 2024, pooled: (1 + 1) / (5 + 1).
    assert figures(rows[("011", "2025", "account_rate")]) == (2, 5, 0.4, 1 / 3, True)
    assert figures(rows[("751", "2025", "account_rate")]) == (1, 1, 1.0, 1 / 3, True)
    month = by_key(result, "month")
    assert figures(month[("011", "2025-11", "account_rate")]) == (1, 5, 0.2, 1 / 3, False)
    assert figures(month[("011", "2025-12", "account_rate")]) == (2, 5, 0.4, 1 / 3, True)


def test_phone_answer_rate_and_caisse_without_phone(tmp_path, fmt):
    contacts = [
        contact("2025-04-01T10:00:00", answered=True),
        contact("2025-04-01T10:00:00", answered=False),
        contact("2025-04-01T10:00:00", answered=None),  # null counts as not answered
        contact("2025-04-01T10:00:00", answered=True, direction="outbound"),
        contact("2025-04-01T10:00:00", caisse="751", channel="web"),  # 751 has no phone contact
        contact("2024-04-01T10:00:00", answered=True),
        contact("2024-04-01T10:00:00", answered=False),
    ]
    paths = warehouse(tmp_path, contacts, [person("x", "011")], fmt)
    rows = by_key(compute(contacts=paths[0], persons=paths[1], year=2025))
    assert figures(rows[("011", "2025", "phone_answer_rate")]) == (1, 3, 1 / 3, 0.5, False)
    assert figures(rows[("751", "2025", "phone_answer_rate")]) == (0, 0, None, 0.5, False)


def test_email_48h_rate(tmp_path, fmt):
    contacts = [
        contact("2025-02-01T10:00:00", channel="email", responded_at="2025-02-03T10:00:00"),  # exactly 48 h
        contact("2025-02-01T10:00:00", channel="email", responded_at="2025-02-03T10:00:01"),  # 48 h + 1 s
        contact("2025-02-01T10:00:00", channel="email", responded_at=None),
        contact("2025-02-01T10:00:00", channel="email", responded_at="2025-02-01T09:59:59"),  # before it
        contact("2025-02-01T10:00:00", channel="email", responded_at="2025-02-01T10:00:00"),  # same instant
        contact("2024-02-01T10:00:00", channel="email", responded_at="2024-02-01T11:00:00"),
    ]
    paths = warehouse(tmp_path, contacts, [], fmt)
    rows = by_key(compute(contacts=paths[0], persons=paths[1], year=2025))
    assert figures(rows[("011", "2025", "email_48h_rate")]) == (2, 5, 0.4, 1.0, False)


def test_reception_indicators(tmp_path, fmt):
    contacts = [
        contact("2025-09-01T08:00:00", channel="reception", on_appointment=True, waited_seconds=1200),
        contact("2025-09-01T08:00:00", channel="reception", on_appointment=False, waited_seconds=1201),
        contact("2025-09-01T08:00:00", channel="reception", on_appointment=None, waited_seconds=None),
        contact("2025-09-01T08:00:00", channel="reception", on_appointment=None, waited_seconds=0),
        contact(
            "2025-09-01T08:00:00", channel="phone", on_appointment=True, waited_seconds=5
        ),  # not reception
        contact("2024-09-01T08:00:00", channel="reception", on_appointment=True, waited_seconds=3000),
        contact("2024-09-01T08:00:00", channel="reception", on_appointment=False, waited_seconds=100),
        contact("2024-09-01T08:00:00", channel="reception", on_appointment=False),
        contact("2024-09-01T08:00:00", channel="reception", on_appointment=True, caisse="751"),
    ]
    paths = warehouse(tmp_path, contacts, [], fmt)
    rows = by_key(compute(contacts=paths[0], persons=paths[1], year=2025))
    # 2024 appointment share: 2 of 4 = 0.5; 2025: 1 of 4 (nulls count as false).
    assert figures(rows[("011", "2025", "appointment_share")]) == (1, 4, 0.25, 0.5, False)
    # 2024 waits: 1 of 2 known; 2025: 1200 and 0 are within 20 minutes, 1201 is not, null is left out.
    assert figures(rows[("011", "2025", "reception_20min_rate")]) == (2, 3, 2 / 3, 0.5, True)


def test_met_on_equality(tmp_path):
    contacts = [
        contact("2024-04-01T10:00:00", answered=True),
        contact("2024-04-01T10:00:00", answered=False),
        contact("2025-04-01T10:00:00", answered=True),
        contact("2025-04-01T10:00:00", answered=False),
    ]
    paths = warehouse(tmp_path, contacts, [])
    rows = by_key(compute(contacts=paths[0], persons=paths[1], year=2025))
    assert figures(rows[("011", "2025", "phone_answer_rate")]) == (1, 2, 0.5, 0.5, True)


def test_no_previous_year_means_no_target(tmp_path):
    paths = warehouse(tmp_path, [contact("2025-04-01T10:00:00", answered=True)], [])
    result = compute(contacts=paths[0], persons=paths[1], year=2025)
    row = by_key(result)[("011", "2025", "phone_answer_rate")]
    assert figures(row) == (1, 1, 1.0, None, False)
    assert result.bonus[0].points == 0


def test_bonus_points_with_weights(tmp_path):
    contacts = [
        contact("2024-04-01T10:00:00", person="a", answered=True),
        contact("2024-04-01T10:00:00", person="b", answered=False),
        contact("2024-04-01T10:00:00", person="c", channel="email", responded_at="2024-04-01T11:00:00"),
        contact("2024-04-01T10:00:00", person="d", channel="email"),
        contact("2025-04-01T10:00:00", person="e", answered=True),  # phone 1.0 >= 0.5: met
        contact("2025-04-01T10:00:00", person="f", channel="email"),  # email 0.0 < 0.5: not met
        contact("2025-04-02T10:00:00", person="g", caisse="751", answered=False),  # phone 0.0: not met
        contact("2025-04-02T10:00:00", person="h", caisse="751", channel="email"),
    ]
    paths = warehouse(tmp_path, contacts, [])
    plain = compute(contacts=paths[0], persons=paths[1], year=2025)
    bonus = {b.caisse: b for b in plain.bonus}
    # Every contact is a different person: recontact_rate is 0.0 in 2024 (the target) and in 2025: met.
    assert bonus["011"].indicators_met == ("recontact_rate", "phone_answer_rate")
    assert bonus["011"].points == 2
    assert bonus["751"].indicators_met == ("recontact_rate",)
    assert bonus["751"].points == 1
    weighted = compute(
        contacts=paths[0],
        persons=paths[1],
        year=2025,
        weights={"phone_answer_rate": 3, "recontact_rate": 0.5},
    )
    assert {b.caisse: b.points for b in weighted.bonus} == {"011": 3.5, "751": 0.5}


def test_national_is_pooled(tmp_path):
    contacts = [
        contact("2025-04-01T10:00:00", answered=True),
        contact("2025-04-01T10:00:00", caisse="751", answered=False),
        contact("2025-04-01T10:00:00", caisse="751", answered=False),
        contact("2025-04-01T10:00:00", caisse="751", answered=True),
    ]
    paths = warehouse(tmp_path, contacts, [])
    result = compute(contacts=paths[0], persons=paths[1], year=2025)
    national = {(r.period, r.indicator): r for r in result.national()}
    # Pooled: 2 / 4, not the mean of the caisses' values (1.0 and 1/3).
    assert figures(national[("2025", "phone_answer_rate")])[:3] == (2, 4, 0.5)


def test_recontact_window_is_in_seconds_across_dst(tmp_path):
    contacts = [
        # 12:00 CEST then 12:00 CET a week later: same wall-clock time, but 604,800 + 3,600 s: not a recontact.
        contact("2025-10-20T10:00:00", person="a", motive="m"),
        contact("2025-10-27T11:00:00", person="a", motive="m"),
        # 11:00 CET then 12:00 CEST a week later: 604,800 s exactly: a recontact.
        contact("2025-03-27T10:00:00", person="b", motive="m"),
        contact("2025-04-03T10:00:00", person="b", motive="m"),
    ]
    paths = warehouse(tmp_path, contacts, [])
    rows = by_key(compute(contacts=paths[0], persons=paths[1], year=2025))
    assert figures(rows[("011", "2025", "recontact_rate")])[:2] == (1, 4)
