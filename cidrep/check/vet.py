"""Vetting: a one-shot check of numbers that are not monitored (``cidrep vet``).

A user choosing clean numbers from a pool, before buying or rotating them, asks the
lookup sources about each number and gets them ranked from cleanest. Rules, and why:

- **Which sources**: those named (``--source``), else every enabled source whose
  preflight passes; a named source that is disabled or not configured is listed as
  skipped, never asked.
- **Lookup sources are asked now**, through the runner's ``HttpSession`` (rate
  limit, concurrency, retries, deadline, redaction), with ``concurrency`` batches in
  flight per source; answers pass ``checked_observation``. A source answering per
  carrier (several observations per number) is summed up as a check's tally is
  (``cidrep.carriers.this_check``, i.e. ``summarize`` over this answer's carriers),
  and its flagged carriers are named.
- **Feed sources** (FTC, FCC) only hold data for monitored numbers. A vetted number
  already monitored (in any account) shows that source's stored current state, with
  its date; any other shows ``no_data``: never "clean" for data we do not have.
- **Spend guard**: each paid batch is reserved against the source's ``daily_budget``
  (``cost_estimate``), counting what today's runs spent; what does not fit is not
  sent and shows ``not_checked``. What vet spends is recorded as a run with per-source
  costs only (``cidrep.store.vetting``), so it counts against today's budget too.
- **Nothing is stored about the numbers** (no number, label or message in any row),
  unless ``keep``: then they are added to the account like ``numbers add`` and
  checked by the normal check cycle (``run_check``), and the table is read back from
  the state that check stored.
- **Exit code** (``outcome_code``): 1 if a vetted number is flagged, 3 if a source
  gave an error for one (and none is flagged), 4 both, else 0. ``unknown``,
  ``no_data`` and ``not_checked`` are not failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from cidrep import redaction
from cidrep.carriers import this_check
from cidrep.check.vetresult import (
    NO_DATA,
    NOT_CHECKED,
    Answer,
    NumberResult,
    SourceRun,
    VetReport,
    answer_from,
    group_rows,
    ranked,
    stored_answer,
)
from cidrep.contract import Checker, LookupChecker, Observation, SourceError, Verdict
from cidrep.errors import CidrepError
from cidrep.runner.budget import Budget, day_start
from cidrep.runner.http import HttpSession
from cidrep.runner.validate import checked_observation
from cidrep.store import runs as runs_store
from cidrep.store import vetting as store
from cidrep.store.database import StorageError
from cidrep.timeutil import iso

__all__ = [
    "NOT_CHECKED",
    "NO_DATA",
    "Answer",
    "NumberResult",
    "SourceRun",
    "VetReport",
    "choose_sources",
    "read_numbers_file",
    "vet",
    "vet_and_keep",
]

log = logging.getLogger("cidrep.vet")
MAX_LISTED = 10  # bad rows named before "... and N more"


def read_numbers_file(
    path: Path, region: str, column: str | None = None
) -> tuple[list[str], list[str]]:
    """(E.164 numbers, warnings) from a file of one number per line or a CSV with a
    number column (the importer's rules). Any bad row is a ``CidrepError`` naming
    ``path:line`` for each (at most ``MAX_LISTED``): nothing is vetted then."""
    from cidrep.importer import read_numbers_csv

    parsed = read_numbers_csv(path, region, column)
    if parsed.bad:
        lines = [f"{path}:{bad.line}: {bad.reason}" for bad in parsed.bad[:MAX_LISTED]]
        if len(parsed.bad) > MAX_LISTED:
            lines.append(f"... and {len(parsed.bad) - MAX_LISTED} more invalid rows in {path}")
        raise CidrepError("\n".join(lines))
    warnings = [f"{path}:{note.line}: {note.message}" for note in parsed.notes]
    return [entry.e164 for entry in parsed.entries], warnings


def choose_sources(
    settings: Any, checkers: Mapping[str, type[Checker]], names: Sequence[str] | None
) -> tuple[list[str], list[SourceRun]]:
    """(sources to use, in order; the others as skipped or failed runs).

    ``names`` None means every registered source. A source is used when it is enabled
    and its preflight gives no reason to skip it (the same test ``check`` applies).
    """
    usable: list[str] = []
    others: list[SourceRun] = []
    for name in names or list(checkers):
        cls = checkers[name]
        source = settings.source(name)
        if not source.enabled:
            others.append(SourceRun(name, cls.shape, "skipped", "disabled in config"))
            continue
        try:
            reason = cls(source).preflight()
        except Exception as exc:  # a plugin bug: this source fails, the others go on
            message = f"internal error in {name} checker: {exc!r}"
            others.append(SourceRun(name, cls.shape, "failed", redaction.redact(message)))
            continue
        if reason:
            others.append(SourceRun(name, cls.shape, "skipped", redaction.redact(reason)))
        else:
            usable.append(name)
    return usable, others


def vet(
    db: Database,
    settings: Any,
    checkers: Mapping[str, type[Checker]],
    numbers: Sequence[str],
    names: Sequence[str] | None,
    now: datetime,
    account: str | None = None,
) -> VetReport:
    """Vet ``numbers`` (E.164, distinct) without storing anything about them.

    The caller holds the run lock (as ``check`` does), so the budget read at the start
    cannot be spent by a concurrent run.
    """
    redaction.register(s for name in checkers for s in settings.source(name).secrets())
    usable, runs = choose_sources(settings, checkers, names)
    lookups = [n for n in usable if checkers[n].shape == "lookup"]
    feeds = [n for n in usable if checkers[n].shape == "feed"]
    run_id = store.start_vet_run(db, iso(now), account) if lookups else None
    asked = asyncio.run(_ask_all(db, settings, checkers, lookups, numbers, now, run_id))
    answers: dict[str, dict[str, Answer]] = {n: {} for n in numbers}
    for run in runs:  # failed as a whole before anything was asked (a preflight crash)
        if run.status == "failed":
            for number in numbers:
                answers[number][run.source] = Answer(run.source, Verdict.ERROR, error=run.reason)
                run.count(answers[number][run.source])
    for run, found in asked:
        runs.append(run)
        for number, answer in found.items():
            answers[number][run.source] = answer
    known = group_rows(store.local_states(db, numbers, feeds))
    for feed in feeds:
        run = SourceRun(feed, "feed", "local")
        for number in numbers:
            answer = stored_answer(feed, known.get((number, feed), []), NO_DATA, local=True)
            answers[number][feed] = answer
            run.count(answer)
        runs.append(run)
    order = {name: i for i, name in enumerate(names or list(checkers))}
    runs.sort(key=lambda r: order.get(r.source, len(order)))
    report = VetReport(ranked(answers, [r.source for r in runs]), runs, run_id, named=bool(names))
    if run_id is not None:
        for run in runs:
            if run.shape == "lookup" and run.status != "skipped":
                store.save_source(db, run_id, run.stored())
        finished = max(iso(datetime.now(now.tzinfo)), iso(now))
        store.finish_vet_run(db, run_id, finished, report.totals(), int(report.exit_code))
    return report


def vet_and_keep(
    db: Database,
    settings: Any,
    checkers: Mapping[str, type[Checker]],
    numbers: Sequence[str],
    names: Sequence[str] | None,
    now: datetime,
    account: dict[str, Any],
    channel_types: dict[str, Any],
) -> VetReport:
    """Add ``numbers`` to ``account`` (like ``numbers add``), run the normal check for
    just them (forced, so a number already monitored is asked again too; alerts and
    retention as after any check), and rank them from the state that check stored."""
    from cidrep.check import run_check
    from cidrep.runner.engine import CheckOptions
    from cidrep.store.numbers import NumberEntry, add_numbers

    added, existing = add_numbers(db, account["id"], [NumberEntry(n) for n in numbers], iso(now))
    options = CheckOptions(
        now=now,
        force=True,
        sources=list(names) if names else None,
        numbers=list(numbers),
        account_id=account["id"],
        account_name=account["name"],
    )
    outcome = run_check(db, settings, checkers, options, channel_types)
    runs = [SourceRun.from_result(s) for s in outcome.result.sources]
    used = [r.source for r in runs if r.status != "skipped"]
    known = group_rows(store.local_states(db, numbers, used, account["id"]))
    answers: dict[str, dict[str, Answer]] = {n: {} for n in numbers}
    for run in runs:
        if run.status == "skipped":
            continue
        fallback = NO_DATA if run.shape == "feed" else NOT_CHECKED
        for number in numbers:
            rows = known.get((number, run.source), [])
            answers[number][run.source] = stored_answer(run.source, rows, fallback, local=False)
    report = VetReport(ranked(answers, used), runs, outcome.result.run_id, named=bool(names))
    report.kept = {"account": account["name"], "added": added, "already_monitored": existing}
    return report


# -- asking lookup sources now -------------------------------------------------------


async def _ask_all(
    db: Database,
    settings: Any,
    checkers: Mapping[str, type[Checker]],
    names: Sequence[str],
    numbers: Sequence[str],
    now: datetime,
    run_id: int | None,
) -> list[tuple[SourceRun, dict[str, Answer]]]:
    redact = redaction.redactor()
    return list(
        await asyncio.gather(
            *(_ask(db, settings, checkers[n], numbers, now, run_id, redact) for n in names)
        )
    )


async def _ask(
    db: Database,
    settings: Any,
    cls: type[Checker],
    numbers: Sequence[str],
    now: datetime,
    run_id: int | None,
    redact: redaction.Redactor,
) -> tuple[SourceRun, dict[str, Answer]]:
    """Ask one lookup source about every number; anything it raises is an error for
    the numbers it did not answer, never a crash and never a verdict."""
    name = cls.name
    run = SourceRun(name, "lookup", "ran")
    answers: dict[str, Answer] = {}
    session: HttpSession | None = None
    try:
        checker = cls(settings.source(name))
        assert isinstance(checker, LookupChecker)
        session = HttpSession(name, checker.settings, redact=redact)
        await _batches(db, checker, session, numbers, now, run_id, run, answers, redact)
    except StorageError:
        raise
    except Exception as exc:
        if not isinstance(exc, SourceError):
            log.debug("checker %s crashed", name, exc_info=True)
        text = str(exc) if isinstance(exc, SourceError) else f"internal error in {name}: {exc!r}"
        run.status, run.reason = "failed", redact(text)
        for number in numbers:
            if number not in answers:
                answers[number] = Answer(name, Verdict.ERROR, error=run.reason)
                run.count(answers[number])
    finally:
        if session is not None:
            await session.aclose()
    return run, answers


async def _batches(
    db: Database,
    checker: LookupChecker,
    session: HttpSession,
    numbers: Sequence[str],
    now: datetime,
    run_id: int | None,
    run: SourceRun,
    answers: dict[str, Answer],
    redact: redaction.Redactor,
) -> None:
    """``concurrency`` workers take batches in input order; each batch is reserved
    against the budget before it is sent, and what it cost is recorded at once."""
    budget = Budget(checker.settings.daily_budget)
    if budget.limit is not None:
        budget.spent = runs_store.spent_since(db, checker.name, iso(day_start(now)))
    size = max(1, checker.batch_size)
    queue: asyncio.Queue[list[str] | None] = asyncio.Queue()
    for start in range(0, len(numbers), size):
        queue.put_nowait(list(numbers[start : start + size]))
    workers = max(1, checker.settings.concurrency)
    for _ in range(workers):
        queue.put_nowait(None)

    async def work() -> None:
        while (batch := await queue.get()) is not None:
            estimate = checker.cost_estimate(batch)
            if not budget.take(estimate):
                budget.held_back += len(batch)
                for number in batch:
                    answers[number] = Answer(checker.name, NOT_CHECKED)
                    run.count(answers[number])
                continue
            found = await _lookup_batch(checker, session, batch, redact)
            cost = sum(answer.cost_units for answer in found.values())
            budget.settle(estimate, cost)
            if cost and run_id is not None:
                store.add_cost(db, run_id, checker.name, cost)
            for number, answer in found.items():
                answers[number] = answer
                run.count(answer)

    await asyncio.gather(*(work() for _ in range(workers)))
    run.stats = {"requests": session.requests, "retries": session.retries}
    if budget.reached:
        run.held_back = budget.held_back
        run.stats["budget_held_back"] = budget.held_back
        run.reason = (
            f"daily budget of {budget.limit:g} reached ({budget.spent:g} spent today): "
            f"{budget.held_back} number(s) not checked"
        )


async def _lookup_batch(
    checker: LookupChecker,
    session: HttpSession,
    numbers: list[str],
    redact: redaction.Redactor,
) -> dict[str, Answer]:
    """Ask about one batch: each number's answers (one, or one per carrier) checked,
    then summed up; a number the source did not answer is an error."""
    name = checker.name
    try:
        given = list(await checker.lookup(numbers, session))
    except StorageError:
        raise
    except SourceError as exc:
        return {n: Answer(name, Verdict.ERROR, error=redact(str(exc))) for n in numbers}
    except Exception as exc:
        log.debug("lookup crashed in %s", name, exc_info=True)
        message = redact(f"internal error in {name} checker: {exc!r}")
        return {n: Answer(name, Verdict.ERROR, error=message) for n in numbers}
    per_number: dict[str, list[Observation]] = {n: [] for n in numbers}
    for item in given:
        number = getattr(item, "number", None)
        if isinstance(number, str) and number in per_number:
            per_number[number].append(checked_observation(item, number, redact))
    found: dict[str, Answer] = {}
    for number, observations in per_number.items():
        cost = sum(o.cost_units for o in observations)
        if not observations:
            found[number] = Answer(name, Verdict.ERROR, error=f"{name} gave no answer for {number}")
            continue
        per_carrier = any(o.carrier is not None for o in observations)
        summary = this_check(observations)  # the engine's rule for one check's answers
        found[number] = answer_from(name, summary, per_carrier, cost_units=cost)
    return found
