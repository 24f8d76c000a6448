"""Item list entries as the kiosk shows them: bare ids (Koha) and FBS's ``%`` details."""

from __future__ import annotations

from datetime import date

from services.sip2.account import Entry, hold_entry, item_entry, loans, unrenewed_entry

TODAY = date(2026, 3, 2)


def test_a_bare_item_id_needs_item_information_for_its_title_and_due_date() -> None:
    entry = item_entry("5010941603")
    assert entry == Entry("5010941603") and not entry.complete


def test_an_fbs_charged_item_carries_due_date_and_title() -> None:
    entry = item_entry("3846731813%20260326%Prinsesse Mononoke%%m%th%77.7")
    assert entry == Entry("3846731813", "Prinsesse Mononoke", date(2026, 3, 26))
    assert entry.complete


def test_an_fbs_unrenewed_item_carries_the_reason() -> None:
    entry = unrenewed_entry("3274626533%Reserveret af anden låner%20260310%Kubo%%m")
    assert entry.reason == "Reserveret af anden låner" and entry.due == date(2026, 3, 10)


def test_an_fbs_ready_reservation_names_branch_shelf_and_last_pickup_day() -> None:
    held = hold_entry(
        "25502760%3844823850%kasse på hylde 58%20260310%DK-775100 - Hovedbiblioteket%"
        "Once more with feeling%Placebo%s%xc%ROCK",
        ready=True,
    )
    assert (held.item_id, held.title, held.ready) == ("3844823850", "Once more with feeling", True)
    assert held.pickup_location == "Hovedbiblioteket"
    assert held.pickup_number == "kasse på hylde 58"
    assert held.pickup_by == date(2026, 3, 10)


def test_an_fbs_waiting_reservation_falls_back_to_the_record_id() -> None:
    held = hold_entry("52779650%%20270207%Som boblerne i bækken%Belli, Peter%s", ready=False)
    assert (held.item_id, held.title, held.ready) == ("52779650", "Som boblerne i bækken", False)


def test_loans_are_marked_overdue_if_listed_or_past_due_and_sorted_by_due_date() -> None:
    charged = [
        Entry("a", "Later", date(2026, 3, 20)),
        Entry("b", "Listed overdue", date(2026, 3, 5)),
        Entry("c", "Past due", date(2026, 2, 27)),
        Entry("d", "No date"),
    ]
    result = loans(charged, {"b"}, TODAY)
    assert [(loan.item_id, loan.overdue) for loan in result] == [
        ("c", True),
        ("b", True),
        ("a", False),
        ("d", False),
    ]
