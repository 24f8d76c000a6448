"""Cards, PINs and lookups: from a card at the reader to the decision, with the building as it is
when the lookup's answer arrives (see :mod:`hardware.core.entry` for a second card meanwhile)."""

from __future__ import annotations

import logging
from dataclasses import replace

from hardware.core import effects as fx
from hardware.core.building import Building, Effects
from hardware.core.door_slot import DoorSlot
from hardware.core.entry import AwaitingDisarm, InFlight, LastDecision, Pending
from hardware.core.inputs import Looked, Now
from hardware.core.timers import DisarmDue, PinDue
from hardware.signals import WAIT, pattern_for
from services.core.access import Decision, DoorContext, Reason, decide
from services.core.credentials import Credential, CredentialKind, SiteKey
from services.core.events import EventType
from services.core.lockout import Standing
from services.core.pad_entry import CodeTyped, CompanionsStated, CprTyped, PinForCard, read_pad
from services.core.patrons import Authentication, PinCheck

# After these the card's PIN bookkeeping is told: a wrong one counts, a right one ends the run.
_WRONG = (Reason.WRONG_PIN, Reason.UNKNOWN_CODE)
_RIGHT = (Reason.GRANTED, Reason.MEMBER, Reason.CODE, Reason.BOOKING)

log = logging.getLogger(__name__)


class Admission:
    """Decides entries for every door of a :class:`Building`."""

    def __init__(self, building: Building, key: SiteKey) -> None:
        self.b = building
        self.key = key
        self._tickets = 0

    def _needs_pin(self, slot: DoorSlot) -> bool:
        return self.b.cfg.rules.pin_required and slot.cfg.pinpad and not self.b.staffed

    def card(self, slot: DoorSlot, reader: str, cred: Credential, now: Now, out: Effects) -> None:
        """A card at ``reader``: wait for its PIN, or look it up."""
        entry, door = slot.entry, slot.cfg.door_id
        again = entry.read_again(cred.number, now.mono)
        if entry.lookup is not None or entry.disarm is not None:
            out.append(fx.Signal(door, WAIT))  # one decision per door at a time
            return
        if entry.pending is not None and entry.pending.credential == cred:
            return  # the tag lying on the reader: keep the entry and its digits
        last = entry.just_decided(cred.number, now.mono)
        if self._needs_pin(slot):
            entry.pending = Pending(cred, reader, now.mono, repeat=again or last is not None)
            self.b.deadlines.set(PinDue(door), now.mono + slot.cfg.pin_timeout_s)
            out.append(fx.ClearPinPads(door))
            out.append(fx.PrepareLookup(reader, cred))
            return
        if last is not None:
            out.append(fx.Signal(door, last.pattern))  # its decision, shown again
            return
        self._lookup(slot, reader, cred, None, now, out)

    def pin(self, slot: DoorSlot, pin: str, now: Now, out: Effects, reader: str = "") -> None:
        """Digits and '#' at the door: the waiting card's PIN or its companions; without a card
        a CPR number or a code (the pad's language: :mod:`services.core.pad_entry`)."""
        entry, door = slot.entry, slot.cfg.door_id
        pending = entry.pending
        if pending is not None and now.mono - pending.since > slot.cfg.pin_timeout_s:
            pending = None
        typed = read_pad(
            pin, card_waiting=pending is not None, cpr_prefix=self.b.cfg.rules.cpr_pad_prefix
        )
        if isinstance(typed, CompanionsStated) and pending is not None:
            # the PIN follows: its time starts again
            entry.pending = replace(pending, since=now.mono, companions=typed.count)
            self.b.deadlines.set(PinDue(door), now.mono + slot.cfg.pin_timeout_s)
            return
        entry.pending = None
        self.b.deadlines.set(PinDue(door), None)
        if isinstance(typed, PinForCard) and pending is not None:
            self._lookup(
                slot, pending.reader, pending.credential, typed.pin, now, out, pending.companions
            )
        elif isinstance(typed, CprTyped):
            self.card(slot, reader, Credential(CredentialKind.CPR, typed.number), now, out)
        elif isinstance(typed, CodeTyped) and entry.lookup is None:
            self._lookup(slot, reader, Credential(CredentialKind.CODE, typed.code), None, now, out)
        else:
            log.info("door %s: digits without a card; ignored", door)
            if entry.lookup is not None:
                out.append(fx.Signal(door, WAIT))

    def pin_timeout(self, slot: DoorSlot, now: Now, out: Effects) -> None:
        """No PIN came: decided without one (``pin_required``), unless it was a resting tag."""
        pending, slot.entry.pending = slot.entry.pending, None
        if pending is None or pending.repeat:
            return  # a re-read right after a decision: a resting tag, not a forgotten PIN
        self._lookup(slot, pending.reader, pending.credential, None, now, out, pending.companions)

    def _lookup(
        self,
        slot: DoorSlot,
        reader: str,
        cred: Credential,
        pin: str | None,
        now: Now,
        out: Effects,
        companions: int = 0,
    ) -> None:
        if self.b.staffed:
            # The doors stand open: the card is not looked up, nothing is counted.
            looked = self._nobody(cred, reachable=True)
            self._decide(slot, reader, cred, looked, now, out, companions)
            return
        self._tickets += 1
        slot.entry.lookup = InFlight(self._tickets, cred, reader, now.mono, companions)
        out.append(fx.StartLookup(self._tickets, slot.cfg.door_id, reader, cred, pin))

    def _nobody(self, cred: Credential, *, reachable: bool) -> Looked:
        auth = Authentication(None, PinCheck.NOT_GIVEN, reachable=reachable)
        return Looked(auth, Standing(), self.key.credential_hash(cred), self.key.pseudonym(cred))

    def finished(self, ticket: int, looked: Looked | None, now: Now, out: Effects) -> None:
        """The lookup ``ticket`` is back (None: it failed): decide now."""
        slot = next(
            (
                s
                for s in self.b.doors.values()
                if s.entry.lookup is not None and s.entry.lookup.ticket == ticket
            ),
            None,
        )
        if slot is None or slot.entry.lookup is None:
            log.warning("lookup %d finished for no door; ignored", ticket)
            return
        flight, slot.entry.lookup = slot.entry.lookup, None
        if looked is None:  # the lookup itself failed: as if the library system were away
            looked = self._nobody(flight.credential, reachable=False)
        self._decide(slot, flight.reader, flight.credential, looked, now, out, flight.companions)

    def _decide(
        self,
        slot: DoorSlot,
        reader: str,
        cred: Credential,
        looked: Looked,
        now: Now,
        out: Effects,
        companions: int = 0,
    ) -> None:
        """The decision with the building as it is at ``now``, not when the lookup started."""
        opening = self.b.current_opening(now, out)
        standing = looked.standing
        ctx = DoorContext(
            opening=opening.state,
            mode=slot.machine.state.mode,
            fire_alarm=self.b.fire_active,
            occupancy=self.b.occupancy.inside,
            reader_throttled=standing.reader_throttled,
            pin_locked_out=standing.locked_out,
            pin_blocked=standing.blocked,
            building_hold=self.b.hold(now.wall),
        )
        local = replace(looked.local, door=slot.cfg.door_id, companions=companions)
        decision = decide(now.wall, looked.auth, ctx, self.b.cfg.rules, local)
        if decision.reason is Reason.DISARM_FIRST:
            deadline = self.b.disarm(slot.cfg.door_id, now, out)
            if deadline is not None:
                # Not open yet: the door opens once the panel's armed feedback goes off.
                slot.entry.disarm = AwaitingDisarm(cred, reader, looked, companions)
                self.b.deadlines.set(DisarmDue(slot.cfg.door_id), deadline)
                out.append(fx.Signal(slot.cfg.door_id, WAIT))
                return
            decision = Decision.denied(Reason.ALARM_ARMED)  # no panel to disarm: never open
        if decision.granted:
            self.b.apply(slot, slot.machine.grant(now.mono, companions), out)
        pattern = pattern_for(decision)
        out.append(fx.Signal(slot.cfg.door_id, pattern))
        slot.entry.last_decision = LastDecision(cred.number, now.mono, pattern)
        self._decision_events(slot, reader, cred, looked, decision, out, companions)

    def panel_disarmed(self, now: Now, out: Effects) -> None:
        """The panel's armed feedback went off: decide again for every member waiting for it,
        with the building as it is now (a fire or a lockdown meanwhile still wins)."""
        for slot in self.b.doors.values():
            waiting, slot.entry.disarm = slot.entry.disarm, None
            if waiting is not None:
                self.b.deadlines.set(DisarmDue(slot.cfg.door_id), None)
                self._decide(
                    slot,
                    waiting.reader,
                    waiting.credential,
                    waiting.looked,
                    now,
                    out,
                    waiting.companions,
                )

    def disarm_timeout(self, slot: DoorSlot, now: Now, out: Effects) -> None:
        """The panel did not confirm the disarm in time: the member is refused, staff told."""
        waiting, slot.entry.disarm = slot.entry.disarm, None
        if waiting is None:
            return
        door = slot.cfg.door_id
        decision = Decision.denied(Reason.ALARM_ARMED)
        out.append(fx.Signal(door, pattern_for(decision)))
        out.append(
            fx.Emit(EventType.ALARM_NO_FEEDBACK, None, reason="disarm", details={"door": door})
        )
        self._decision_events(
            slot,
            waiting.reader,
            waiting.credential,
            waiting.looked,
            decision,
            out,
            waiting.companions,
        )

    def _decision_events(
        self,
        slot: DoorSlot,
        reader: str,
        cred: Credential,
        looked: Looked,
        decision: Decision,
        out: Effects,
        companions: int,
    ) -> None:
        door = slot.cfg.door_id
        details: dict[str, object] = {
            "reader": reader,
            "kind": str(cred.kind),
            "message": decision.message,
        }
        if companions:
            details["companions"] = companions
        etype = EventType.ACCESS_GRANTED if decision.granted else EventType.ACCESS_DENIED
        reason = str(decision.reason)
        out.append(
            fx.Emit(etype, door, reason=reason, credential=looked.pseudonym, details=details)
        )
        if decision.reason in _WRONG or decision.reason in _RIGHT:
            wrong = decision.reason in _WRONG
            used = decision.reason is Reason.CODE
            booked = decision.reason is Reason.BOOKING
            out.append(
                fx.RecordOutcome(
                    door, reader, looked.credential_hash, looked.pseudonym, wrong, used, booked
                )
            )
