"""After a run: apply the alert rules to what changed and record flips and deliveries.

One transaction: the confirmed-state rows, the per-number alert rows, every flip and
every flip's deliveries, and the evaluation mark are written together, so a crash
leaves either all of it or none (and the next run evaluates again: the rules give the
same answer for the same state, so nothing is announced twice).

Cost follows change: only source states checked since the last evaluation whose
verdict differs from the confirmed one are read (an indexed query), plus the numbers
whose hold (flapping, mute) may end or that are due a reminder. Sources that watch
evidence (``Checker.watched_evidence``) add one indexed read of their numbers whose
latest history row is new since the last evaluation, each with the real row before
it (``cidrep.alerts.changes``): a changed value is a ``changed`` alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from cidrep.alerts import changes, messages, routing
from cidrep.alerts.rules import (
    Confirmed,
    Decision,
    FleetHealth,
    Hysteresis,
    Notice,
    NumberAlert,
    Policy,
    confirm,
    decide,
    quorum_state,
    source_notice,
    unmute,
)
from cidrep.channels import Alert, Channel
from cidrep.history import SourceState
from cidrep.store import alert_state as store
from cidrep.store import outbox
from cidrep.store.database import write
from cidrep.store.state import states_for
from cidrep.timeutil import iso

MARK = "evaluated"
CHANGES_MARK = "changes"  # the last run whose new history rows were compared


@dataclass
class Change:
    """One line of "what changed in this run" (``check``'s cron output)."""

    kind: str
    title: str
    held: str | None = None
    channels: list[str] = field(default_factory=list)
    number: str | None = None
    source: str | None = None


def policy_of(settings: Any) -> Policy:
    a = settings.alerts
    return Policy(a.quorum, a.flap_max, a.flap_window, a.renotify_after, a.failing_after)


def hysteresis_of(settings: Any, source: str) -> Hysteresis:
    """A polled source confirms after its (or the alerts') ``confirm_after`` checks; a
    recorded source (a manual sighting, an imported label) has no next check to wait
    for: one record is the news, either way."""
    if source not in type(settings.sources).model_fields:
        return Hysteresis(1, 1)
    a, s = settings.alerts, settings.source(source)
    return Hysteresis(s.confirm_after or a.confirm_after, s.recover_after or a.recover_after)


class Evaluation:
    def __init__(
        self,
        db: Database,
        settings: Any,
        in_service: Sequence[str],
        channels: Mapping[str, Channel],
        now: datetime,
        run_id: int | None = None,
        watched: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.in_service = list(in_service)
        self.channels = channels
        self.now = now
        self.at = iso(now)
        self.run_id = run_id
        self.watched = dict(watched or {})  # source -> {evidence key: what it is called}
        self.policy = policy_of(settings)
        self.routes = store.routes(db)
        self.changes: list[Change] = []

    def run(self, stale_before: Mapping[str, str]) -> list[Change]:
        """Evaluate; ``stale_before`` maps each source in service to its stale cutoff."""
        with write(self.db):
            changed_by = self._confirm_sources()
            renotify = self.policy.renotify_after
            sweep = store.sweep_ids(self.db, iso(self.now - renotify) if renotify else None)
            self._decide_numbers(changed_by, sweep)
            self._watched_evidence()
            for source in self.in_service:
                if source in stale_before:
                    self._source_health(source, stale_before[source])
            store.set_mark(self.db, MARK, self.at)
        return self.changes

    def unmute(self, number_ids: Sequence[int]) -> list[Change]:
        """Lift the mute of these numbers now; notify only where the state differs
        from what was last announced (``rules.unmute``)."""
        with write(self.db):
            self._apply(number_ids, lambda _id, prev: unmute(prev, self.now, self.policy), {})
        return self.changes

    # -- per (number, source) ------------------------------------------------------

    def _confirm_sources(self) -> dict[int, list[str]]:
        """Confirm what changed; record a ``confirmed`` flip per real change."""
        changed: dict[int, list[str]] = {}
        saves = []
        hyst = {s: hysteresis_of(self.settings, s) for s in self.in_service}
        for row in store.changed_candidates(self.db, store.mark(self.db, MARK)):
            source = row["source"]
            if source not in hyst:
                continue
            prev = Confirmed(row["confirmed"], row["confirmed_since"])
            new, flipped = confirm(prev, SourceState.from_row(row), hyst[source])
            if new != prev:
                saves.append((row["number_id"], source, new.state, new.since))
            if flipped:
                changed.setdefault(row["number_id"], []).append(source)
                outbox.add_flip(
                    self.db,
                    key=messages.new_key(),
                    at=self.at,
                    kind="confirmed",
                    run_id=self.run_id,
                    number_id=row["number_id"],
                    source=source,
                    old_state=prev.state,
                    new_state=new.state,
                )
            elif new != prev:  # a silent baseline: the number may need its clean state
                changed.setdefault(row["number_id"], [])
        store.save_confirmed(self.db, saves)
        return changed

    # -- per number ------------------------------------------------------------------

    def _decide_numbers(self, changed_by: dict[int, list[str]], sweep: list[int]) -> None:
        ids = sorted(set(changed_by) | set(sweep))
        if not ids:
            return
        confirmed = store.confirmed_for(self.db, ids)

        def judge(number_id: int, prev: NumberAlert) -> Decision:
            mine = {s: v for s, v in confirmed.get(number_id, {}).items() if s in self.in_service}
            state = quorum_state(mine, len(self.in_service), self.policy.quorum)
            return decide(prev, state, self.now, self.policy)

        self._apply(ids, judge, changed_by)

    def _apply(
        self,
        ids: Sequence[int],
        judge: Callable[[int, NumberAlert], Decision],
        changed_by: dict[int, list[str]],
    ) -> None:
        """Decide each number, store what changed, then record its notices (the
        sources' details of every announced number are read in one query)."""
        prev_rows = store.load_numbers(self.db, ids)
        info = store.number_info(self.db, ids)
        saves, told = [], []
        for number_id in ids:
            if number_id not in info:
                continue
            prev = NumberAlert.from_row(prev_rows.get(number_id))
            decision = judge(number_id, prev)
            if decision.state != prev:
                saves.append((number_id, asdict(decision.state)))
            told += [(number_id, notice, prev, decision.state) for notice in decision.notices]
        store.save_numbers(self.db, saves)
        states = states_for(self.db, sorted({t[0] for t in told})) if told else {}
        for number_id, notice, prev, cur in told:
            self._number_notice(
                number_id,
                info[number_id],
                states.get(number_id, {}),
                notice,
                prev,
                cur,
                changed_by.get(number_id, []),
            )

    def _number_notice(
        self,
        number_id: int,
        info: dict[str, Any],
        states: dict[str, dict[str, Any]],
        notice: Notice,
        prev: NumberAlert,
        cur: NumberAlert,
        changed_by: list[str],
    ) -> None:
        states = {s: row for s, row in states.items() if s in self.in_service}
        facts: dict[str, Any] = {}
        if notice.kind == "flapping":
            facts = {"flips": len(cur.flips), "window": _window(self.policy)}
        alert = messages.number_alert(
            notice.kind,
            {**info, "since": cur.since},
            states,
            self.now,
            changed_by=changed_by,
            flagged_since=notice.flagged_since,
            after=notice.after,
            facts=facts,
            carrier_map=self.settings.carrier_map(),
        )
        channels = (
            []
            if notice.held
            else routing.for_number(info["account_id"], self.channels, self.routes)
        )
        self._flip(
            alert,
            number_id=number_id,
            held=notice.held,
            channels=channels,
            old=prev.state,
            new=cur.state,
        )

    # -- watched evidence ----------------------------------------------------------------

    def _watched_evidence(self) -> None:
        """A ``changed`` flip per watched evidence value that changed since the previous
        real observation (``changes.evidence_change``), for history rows new since the
        last evaluation (``changes.window``); held while the number is muted."""
        if self.run_id is None:
            return
        since = store.mark(self.db, MARK)
        after = changes.window(store.mark(self.db, CHANGES_MARK), self.run_id)
        found: list[tuple[int, str, str, str, changes.EvidenceChange]] = []
        for source, keys in sorted(self.watched.items()):
            if source not in self.in_service:
                continue
            for row in store.changed_evidence(self.db, source, since, after, self.run_id):
                for key, what in keys.items():
                    change = changes.evidence_change(row["old"], row["new"], key)
                    if change is not None:
                        found.append((row["number_id"], source, key, what, change))
        store.set_mark(self.db, CHANGES_MARK, str(self.run_id))
        if not found:
            return
        found.sort(key=lambda f: (f[0], f[1], f[2]))
        ids = sorted({number_id for number_id, *_ in found})
        info = store.number_info(self.db, ids)
        alert_rows = store.load_numbers(self.db, ids)
        states = states_for(self.db, ids)
        for number_id, source, key, what, change in found:
            if number_id not in info:
                continue
            row = alert_rows.get(number_id) or {}
            held = changes.hold(row.get("muted_until"), self.at)
            alert = messages.changed_alert(
                info[number_id],
                states.get(number_id, {}),
                source,
                key,
                what,
                change.old,
                change.new,
                self.now,
                state=row.get("state"),
            )
            channels = (
                []
                if held
                else routing.for_number(info[number_id]["account_id"], self.channels, self.routes)
            )
            self._flip(alert, number_id=number_id, source=source, held=held, channels=channels)

    # -- per source --------------------------------------------------------------------

    def _source_health(self, source: str, stale_before: str) -> None:
        worst, failing, stale, error = store.fleet_health(self.db, source, stale_before)
        fleet = FleetHealth(worst, failing, stale, error)
        before = store.source_failing(self.db).get(source) or {}
        was_failing = bool(before.get("failing"))
        kind = source_notice(was_failing, fleet, self.policy.failing_after)
        if kind is None:
            return
        facts: dict[str, Any] = {"numbers": failing + stale, "failing": failing, "stale": stale}
        if kind == "source_failing":
            facts["last_error"] = error
        else:
            facts["failing_for"] = messages.duration_text(before.get("since"), self.now)
        store.save_source_failing(self.db, source, kind == "source_failing", self.at, error)
        alert = messages.source_alert(kind, source, self.now, facts)
        channels = routing.for_fleet(self.channels, self.routes)
        self._flip(alert, source=source, channels=channels)

    def _flip(
        self,
        alert: Alert,
        *,
        number_id: int | None = None,
        source: str | None = None,
        held: str | None = None,
        channels: list[str],
        old: str | None = None,
        new: str | None = None,
    ) -> None:
        outbox.add_flip(
            self.db,
            key=alert.key,
            at=alert.at,
            kind=alert.kind,
            run_id=self.run_id,
            number_id=number_id,
            source=source,
            old_state=old,
            new_state=new,
            held=held,
            alert=alert.as_dict(),
            channels=channels,
        )
        self.changes.append(Change(alert.kind, alert.title, held, channels, alert.number, source))


def _window(policy: Policy) -> str:
    return messages.span_text(policy.flap_window.total_seconds())
