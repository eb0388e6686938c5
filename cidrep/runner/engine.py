"""One check cycle: every selected source, independently, over what is due.

Sources run concurrently and never affect each other: anything one raises becomes a
recorded error for that source (and for the numbers it could not check), never a
crash and never a verdict. Lookups stream due numbers in batches to a pool of
workers; feeds pull new records (committed per chunk with their progress) and then
assess numbers locally. All observations go through one batched writer that also
commits every few seconds, so a killed run loses little.

The exit code is decided after the run from the current state of the run's scope
(``cidrep.errors.outcome_code``), not from what happened to be due. Storage failures
(``StorageError``) are not source errors: they end the run with their own code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from cidrep import redaction
from cidrep.carriers import this_check
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
from cidrep.errors import outcome_code
from cidrep.health import stale_before
from cidrep.runner.budget import Budget, day_start
from cidrep.runner.http import HttpSession
from cidrep.runner.results import RunResult, SourceResult
from cidrep.runner.validate import checked_observation, checked_sighting
from cidrep.store import runs as runs_store
from cidrep.store import state as state_store
from cidrep.store.database import StorageError
from cidrep.store.history import ObservationWriter
from cidrep.timeutil import iso, parse_iso

__all__ = ["CheckOptions", "Cycle", "RunResult", "SourceResult", "due_tolerance", "run_cycle"]

log = logging.getLogger("cidrep.runner")

Progress = Callable[[str, int, int], None]  # (source, advance, total)


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
        redaction.register(s for name in checkers for s in settings.source(name).secrets())
        self.redact = redaction.redactor()
        self.run_id = 0
        self.writer: ObservationWriter

    async def run(self) -> RunResult:
        self.run_id = runs_store.start_run(self.db, self.now, self.opt.account_name, self.opt.force)
        self.writer = ObservationWriter(self.db, self.run_id, self.now)
        names = list(self.opt.sources or self.checkers)
        ticker = asyncio.create_task(self._tick())
        try:
            results = await asyncio.gather(*(self._source(n) for n in names))
            self.writer.flush()
        except StorageError:
            self._abort()
            raise
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        return self._finish(list(results))

    async def _tick(self) -> None:
        """Commit pending results every few seconds even while sources are slow."""
        while True:
            await asyncio.sleep(self.writer.flush_seconds / 2)
            if self.writer.due():
                self.writer.flush()

    def _finish(self, results: list[SourceResult]) -> RunResult:
        in_scope = {
            r.source: stale_before(self.settings.source(r.source).interval, self.opt.now)
            for r in results
            if r.status != "skipped"
        }
        flagged, bad = state_store.scope_findings(
            self.db, in_scope, self.opt.account_id, self.opt.numbers
        )
        bad |= {r.source for r in results if r.status == "failed"}
        code = outcome_code(flagged, bool(bad))
        finished = max(iso(datetime.now(self.opt.now.tzinfo)), self.now)
        for result in results:
            runs_store.record_source(self.db, self.run_id, result.as_dict())
        totals = {
            "checks": sum(r.checks for r in results),
            "flagged": sum(len(r.flagged) for r in results),
            "errors": sum(r.errors for r in results),
        }
        runs_store.finish_run(self.db, self.run_id, finished, totals, int(code))
        return RunResult(self.run_id, self.now, finished, results, code, flagged, sorted(bad))

    def _abort(self) -> None:
        """Best effort: mark the run failed (the disk may be full; then it stays
        'running' and the next run marks it abandoned)."""
        with contextlib.suppress(Exception):
            runs_store.finish_run(self.db, self.run_id, self.now, {}, 74, status="failed")

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
                result.status, result.reason = "skipped", self.redact(reason)
                return result
            session = HttpSession(name, settings, redact=self.redact)
            if isinstance(checker, LookupChecker):
                await self._lookup(checker, session, result)
            elif isinstance(checker, FeedChecker):
                await self._feed(checker, session, result)
            result.stats["requests"] = session.requests
            result.stats["retries"] = session.retries
        except StorageError:
            raise
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
        """A whole source failed: record it, and mark every number it owed a check.

        A feed owes every number in scope (its data covers all of them); a lookup owes
        the numbers that were due. Their verdicts stay; their state says failing.
        """
        result.status = "failed"
        result.errors += 1
        result.note(message)
        interval = self.settings.source(result.source).interval
        fresh = None if result.shape == "feed" else self._due_since(interval)
        if result.shape == "feed":
            runs_store.mark_feed(self.db, result.source, self.now, message)
        self.writer.flush()  # what was checked before the failure keeps its success
        state_store.fail_scope(
            self.db, result.source, message, self.now, self.opt.account_id, self.opt.numbers, fresh
        )

    def _due_since(self, interval: timedelta) -> str | None:
        if self.opt.force:
            return None
        return iso(self.opt.now - interval + due_tolerance(interval))

    def _record(self, result: SourceResult, ids: list[int], answers: Sequence[Observation]) -> None:
        """Store one number's answers (its own, or one per carrier) and count them once:
        the run's tally takes the number's verdict summed up over this check's answers."""
        self.writer.add_answers(ids, result.source, answers)
        obs = answers[0] if len(answers) == 1 else this_check(answers)
        result.checks += 1
        result.cost_units += sum(a.cost_units for a in answers)
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
        budget = self._budget(checker)

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
                estimate = checker.cost_estimate(list(ids))
                if not budget.take(estimate):
                    budget.held_back += len(batch)
                    self.progress(name, len(batch), total)
                    continue
                spent = result.cost_units
                for answers in await self._lookup_batch(checker, session, list(ids)):
                    self._record(result, ids[answers[0].number], answers)
                budget.settle(estimate, result.cost_units - spent)
                self.progress(name, len(batch), total)

        await asyncio.gather(produce(), *(work() for _ in range(workers)))
        if budget.reached:
            result.stats["budget_held_back"] = budget.held_back
            result.reason = (
                f"daily budget of {budget.limit:g} reached ({budget.spent:g} spent today): "
                f"{budget.held_back} number(s) wait for tomorrow"
            )

    def _budget(self, checker: LookupChecker) -> Budget:
        """Today's budget for a source: the limit, and what earlier runs today spent."""
        limit = checker.settings.daily_budget
        if limit is None:
            return Budget(None)
        spent = runs_store.spent_since(self.db, checker.name, iso(day_start(self.opt.now)))
        return Budget(limit, spent=spent)

    async def _lookup_batch(
        self, checker: LookupChecker, session: HttpSession, numbers: list[str]
    ) -> list[list[Observation]]:
        """Each number's answers: one, or one per carrier (a number with none is an
        error). A malformed answer becomes an error answer, never a verdict."""
        try:
            answers = list(await checker.lookup(numbers, session))
        except StorageError:
            raise
        except SourceError as exc:
            message = self.redact(str(exc))
            return [[Observation.failed(n, message)] for n in numbers]
        except Exception as exc:
            log.debug("lookup crashed in %s", checker.name, exc_info=True)
            message = self.redact(f"internal error in {checker.name} checker: {exc!r}")
            return [[Observation.failed(n, message)] for n in numbers]
        by_number: dict[str, list[Observation]] = {}
        for answer in answers:
            number = getattr(answer, "number", None)
            if isinstance(number, str) and number in numbers:
                checked = checked_observation(answer, number, self.redact)
                by_number.setdefault(number, []).append(checked)
        return [
            by_number.get(n) or [Observation.failed(n, f"{checker.name} gave no answer for {n}")]
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
            runs_store.mark_feed(self.db, name, self.now)
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
            self._record(result, ids, [obs])
            self.progress(name, 1, total)

    async def _pull(
        self,
        checker: FeedChecker,
        session: HttpSession,
        result: SourceResult,
        cursor: str | None,
        backfill: bool,
    ) -> None:
        """Pull new records; each chunk commits with its cursor and done item. Raises on
        failure, so a half-read feed never produces verdicts (committed chunks are kept)."""
        targets = runs_store.active_targets(self.db)
        request = FeedRequest(
            cursor=cursor,
            targets=frozenset(targets),
            backfill=backfill or cursor is None,
            now=self.opt.now,
            done=runs_store.feed_done(self.db, result.source),
        )
        async for chunk in checker.pull(request, session):
            wanted = [
                checked_sighting(s, self.redact) for s in chunk.sightings if s.number in targets
            ]
            added = runs_store.store_feed_chunk(
                self.db,
                result.source,
                wanted,
                targets,
                chunk.cursor,
                chunk.done,
                self.run_id,
                self.now,
            )
            result.add_stats({"new_sightings": added, **chunk.stats})


def run_cycle(
    db: Database,
    settings: BaseConfig,
    checkers: dict[str, type[Checker]],
    options: CheckOptions,
    progress: Progress | None = None,
) -> RunResult:
    """Run one check cycle to completion (the synchronous entry point for the CLI)."""
    return asyncio.run(Cycle(db, settings, checkers, options, progress).run())
