"""One check cycle: every selected source, independently, over what is due.

Sources run concurrently and never affect each other: anything one raises becomes a
recorded error for that source. Lookups stream due numbers in batches to a pool of
workers; feeds pull new records (committed per chunk with their cursor) and then
assess numbers locally. All observations go through one batched writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from cidrep.config import BaseConfig
from cidrep.contract import (
    Checker,
    FeedChecker,
    FeedRequest,
    LookupChecker,
    Observation,
    SourceError,
    Verdict,
)
from cidrep.errors import ExitCode, outcome_code
from cidrep.runner.http import HttpSession
from cidrep.runner.validate import Redactor, checked_observation
from cidrep.store import runs as runs_store
from cidrep.store.history import ObservationWriter
from cidrep.timeutil import iso, parse_iso

log = logging.getLogger("cidrep.runner")

Progress = Callable[[str, int, int], None]  # (source, advance, total)
MAX_MESSAGES = 5


def due_tolerance(interval: timedelta) -> timedelta:
    """Slack so a cron job at the same minute each day always finds its numbers due."""
    return min(interval / 10, timedelta(minutes=5))


@dataclass
class CheckOptions:
    now: datetime
    force: bool = False
    sources: Sequence[str] | None = None
    numbers: Sequence[str] | None = None
    account_id: int | None = None
    account_name: str | None = None


@dataclass
class SourceResult:
    source: str
    shape: str
    status: str = "idle"  # ran | idle (nothing due) | skipped | failed
    reason: str | None = None
    checks: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {v.value: 0 for v in Verdict})
    errors: int = 0
    cost_units: float = 0.0
    messages: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    flagged: list[dict[str, Any]] = field(default_factory=list)

    def note(self, message: str) -> None:
        if message not in self.messages and len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "shape": self.shape,
            "status": self.status,
            "reason": self.reason,
            "checks": self.checks,
            "verdicts": self.verdicts,
            "errors": self.errors,
            "cost_units": self.cost_units,
            "messages": self.messages,
            "stats": self.stats,
            "flagged": self.flagged,
        }


@dataclass
class RunResult:
    run_id: int
    started_at: str
    finished_at: str
    sources: list[SourceResult]
    exit_code: ExitCode

    @property
    def checks(self) -> int:
        return sum(s.checks for s in self.sources)

    @property
    def flagged(self) -> list[dict[str, Any]]:
        return [f for s in self.sources for f in s.flagged]

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.sources)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "exit_code": int(self.exit_code),
            "checks": self.checks,
            "errors": self.errors,
            "flagged": self.flagged,
            "sources": {s.source: s.as_dict() for s in self.sources},
        }


class Cycle:
    def __init__(
        self,
        db: Database,
        settings: BaseConfig,
        checkers: dict[str, type[Checker]],
        options: CheckOptions,
        progress: Progress | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.checkers = checkers
        self.opt = options
        self.progress = progress or (lambda *_: None)
        self.now = iso(options.now)
        self.redact = Redactor(s for name in checkers for s in settings.source(name).secrets())
        self.run_id = 0
        self.writer: ObservationWriter

    async def run(self) -> RunResult:
        self.run_id = runs_store.start_run(self.db, self.now, self.opt.account_name, self.opt.force)
        self.writer = ObservationWriter(self.db, self.run_id, self.now)
        names = list(self.opt.sources or self.checkers)
        results = await asyncio.gather(*(self._source(n) for n in names))
        self.writer.flush()
        flagged = any(r.flagged for r in results)
        errors = any(r.errors for r in results)
        code = outcome_code(flagged, errors)
        finished = iso(datetime.now(self.opt.now.tzinfo))
        finished = max(finished, self.now)
        for result in results:
            runs_store.record_source(self.db, self.run_id, result.as_dict())
        runs_store.finish_run(
            self.db,
            self.run_id,
            finished,
            sum(r.checks for r in results),
            sum(len(r.flagged) for r in results),
            sum(r.errors for r in results),
            int(code),
        )
        return RunResult(self.run_id, self.now, finished, list(results), code)

    async def _source(self, name: str) -> SourceResult:
        cls = self.checkers[name]
        result = SourceResult(name, cls.shape)
        settings = self.settings.source(name)
        if not settings.enabled:
            result.status, result.reason = "skipped", "disabled in config"
            return result
        session: HttpSession | None = None
        try:
            checker = cls(settings)
            reason = checker.preflight()
            if reason:
                result.status, result.reason = "skipped", reason
                return result
            session = HttpSession(name, settings, redact=self.redact)
            if isinstance(checker, LookupChecker):
                await self._lookup(checker, session, result)
            elif isinstance(checker, FeedChecker):
                await self._feed(checker, session, result)
            result.stats["requests"] = session.requests
            result.stats["retries"] = session.retries
        except SourceError as exc:
            self._fail(result, self.redact(str(exc)))
        except Exception as exc:  # a plugin bug must not take the other sources down
            log.debug("checker %s crashed", name, exc_info=True)
            self._fail(result, self.redact(f"internal error in {name} checker: {exc!r}"))
        finally:
            if session is not None:
                await session.aclose()
        return result

    def _fail(self, result: SourceResult, message: str) -> None:
        result.status = "failed"
        result.errors += 1
        result.note(message)

    def _due_since(self, interval: timedelta) -> str | None:
        if self.opt.force:
            return None
        return iso(self.opt.now - interval + due_tolerance(interval))

    def _record(self, result: SourceResult, ids: list[int], obs: Observation) -> None:
        self.writer.add(ids, result.source, obs)
        result.checks += 1
        result.cost_units += obs.cost_units
        result.verdicts[obs.verdict.value] += 1
        if obs.verdict == Verdict.ERROR:
            result.errors += 1
            result.note(obs.error or "error")
        elif obs.verdict == Verdict.FLAGGED:
            result.flagged.append(
                {
                    "number": obs.number,
                    "source": result.source,
                    "label": obs.label,
                    "category": obs.category,
                    "score": obs.score,
                }
            )

    # -- lookup sources -------------------------------------------------------

    async def _lookup(
        self, checker: LookupChecker, session: HttpSession, result: SourceResult
    ) -> None:
        name, opt = result.source, self.opt
        since = self._due_since(checker.settings.interval)
        total = runs_store.count_due(self.db, name, since, opt.account_id, opt.numbers)
        if total == 0:
            return
        result.status = "ran"
        self.progress(name, 0, total)
        workers = checker.settings.concurrency
        queue: asyncio.Queue[list[tuple[str, list[int]]] | None] = asyncio.Queue(workers * 2)
        size = max(1, checker.batch_size)

        async def produce() -> None:
            batch: list[tuple[str, list[int]]] = []
            for item in runs_store.iter_due(self.db, name, since, opt.account_id, opt.numbers):
                batch.append(item)
                if len(batch) >= size:
                    await queue.put(batch)
                    batch = []
            if batch:
                await queue.put(batch)
            for _ in range(workers):
                await queue.put(None)

        async def work() -> None:
            while (batch := await queue.get()) is not None:
                ids = dict(batch)
                for obs in await self._lookup_batch(checker, session, list(ids)):
                    self._record(result, ids[obs.number], obs)
                self.progress(name, len(batch), total)

        await asyncio.gather(produce(), *(work() for _ in range(workers)))

    async def _lookup_batch(
        self, checker: LookupChecker, session: HttpSession, numbers: list[str]
    ) -> list[Observation]:
        try:
            answers = list(await checker.lookup(numbers, session))
        except SourceError as exc:
            message = self.redact(str(exc))
            return [Observation.failed(n, message) for n in numbers]
        except Exception as exc:
            log.debug("lookup crashed in %s", checker.name, exc_info=True)
            message = self.redact(f"internal error in {checker.name} checker: {exc!r}")
            return [Observation.failed(n, message) for n in numbers]
        by_number: dict[str, Observation] = {}
        for answer in answers:
            number = getattr(answer, "number", None)
            if number in numbers and number not in by_number:
                by_number[number] = checked_observation(answer, number, self.redact)
        return [
            by_number.get(n) or Observation.failed(n, f"{checker.name} gave no answer for {n}")
            for n in numbers
        ]

    # -- feed sources ---------------------------------------------------------

    async def _feed(self, checker: FeedChecker, session: HttpSession, result: SourceResult) -> None:
        name, opt = result.source, self.opt
        interval = checker.settings.interval
        state = runs_store.feed_state(self.db, name) or {}
        last_success = state.get("last_success_at")
        unassessed = runs_store.has_unassessed(self.db, name, opt.account_id, opt.numbers)
        stale = last_success is None or (
            parse_iso(last_success) + interval - due_tolerance(interval) <= opt.now
        )
        if opt.force or stale or unassessed:
            result.status = "ran"
            await self._pull(checker, session, result, state.get("cursor"), unassessed)
            runs_store.mark_feed_success(self.db, name, self.now)
            last_success = self.now
        if last_success is None:
            return
        since = None if opt.force else last_success
        total = runs_store.count_due(self.db, name, since, opt.account_id, opt.numbers)
        if total == 0:
            return
        result.status = "ran"
        self.progress(name, 0, total)
        for e164, ids in runs_store.iter_due(self.db, name, since, opt.account_id, opt.numbers):
            sightings = runs_store.sightings_for(self.db, name, e164, ids[0])
            try:
                obs = checker.assess(e164, sightings, opt.now)
                obs = checked_observation(obs, e164, self.redact)
            except Exception as exc:
                log.debug("assess crashed in %s", name, exc_info=True)
                obs = Observation.failed(e164, self.redact(f"{name} could not assess: {exc!r}"))
            self._record(result, ids, obs)
            self.progress(name, 1, total)

    async def _pull(
        self,
        checker: FeedChecker,
        session: HttpSession,
        result: SourceResult,
        cursor: str | None,
        backfill: bool,
    ) -> None:
        """Pull new records; each chunk commits with its cursor. Raises on failure,
        so a half-read feed never produces verdicts (committed chunks are kept)."""
        targets = runs_store.active_targets(self.db)
        request = FeedRequest(
            cursor=cursor,
            targets=frozenset(targets),
            backfill=backfill or cursor is None,
            now=self.opt.now,
        )
        async for chunk in checker.pull(request, session):
            wanted = [s for s in chunk.sightings if s.number in targets]
            added = runs_store.store_feed_chunk(
                self.db, result.source, wanted, targets, chunk.cursor, self.run_id, self.now
            )
            result.stats["new_sightings"] = result.stats.get("new_sightings", 0) + added
            for key, value in chunk.stats.items():
                result.stats[key] = result.stats.get(key, 0) + value


def run_cycle(
    db: Database,
    settings: BaseConfig,
    checkers: dict[str, type[Checker]],
    options: CheckOptions,
    progress: Progress | None = None,
) -> RunResult:
    """Run one check cycle to completion (the synchronous entry point for the CLI)."""
    return asyncio.run(Cycle(db, settings, checkers, options, progress).run())
