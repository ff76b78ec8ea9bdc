"""`sitrep publish FILE.jsonl`: publish a file of events line by line, then say what became of
each line."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sitrep.contract import EventBase
from sitrep.contract.differences import differing_fields
from sitrep.publishing import (
    DETAILS,
    WINDOW,
    BatchReport,
    Line,
    Notice,
    Publisher,
    PublishFailed,
    publish_lines,
    read_lines,
)
from sitrep.settings import Settings

err = Console(stderr=True)


@contextmanager
def _opened(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    if not Path(path).is_file():
        raise typer.BadParameter(f"{path}: no such file", param_hint="FILE")
    with open(path, "rb") as stream:
        yield stream


def _file_size(stream: BinaryIO) -> int | None:
    """The size of a regular file (stdin may be one), or None for a pipe."""
    status = os.fstat(stream.fileno())
    return status.st_size if stat.S_ISREG(status.st_mode) else None


class _Reading:
    """The progress bar: bytes read of a file's size, or lines read from a pipe."""

    REDRAW_EVERY = 1_000
    """Lines between updates: updating the bar for every line costs a twentieth of the run."""

    def __init__(self, stream: BinaryIO, *, quiet: bool) -> None:
        self._stream = stream
        self._size = _file_size(stream)
        self.start = stream.tell() if self._size is not None else 0
        self._lines = 0
        if self._size is None:
            columns: list[ProgressColumn] = [
                TextColumn("publishing: {task.completed} lines read"),
                TimeElapsedColumn(),
            ]
        else:
            columns = [
                TextColumn("publishing"),
                BarColumn(),
                DownloadColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
            ]
        self.progress = Progress(*columns, console=err, disable=quiet)
        self._task = self.progress.add_task("publish", total=self._size)

    def line_read(self) -> None:
        self._lines += 1
        if self._lines % self.REDRAW_EVERY == 0:
            self.show()

    def show(self) -> None:
        done = self._lines if self._size is None else self._stream.tell() - self.start
        self.progress.update(self._task, completed=done)


async def _name_checks(settings: Settings) -> Notice:
    """Warnings for the names of an event nobody knows: places by the gazetteer, actors by the
    registry the workers last wrote (not checked, with a warning, when it cannot be read)."""
    from sitrep.cli.worker import load_gazetteer
    from sitrep.publishing.known import RegistryUnreadable, latest_registry
    from sitrep.resolution.actors import ActorRegistry
    from sitrep.resolution.suggestions import name_warnings

    gazetteer = load_gazetteer(settings)
    try:
        registry = await latest_registry(settings.bootstrap_servers(), settings.topics().registry)
    except RegistryUnreadable as exc:
        err.print(f"[yellow]warning:[/yellow] {exc}: actor names are not checked")
        registry = ActorRegistry()
    return lambda event: name_warnings(event, gazetteer, registry)


async def _publish(
    settings: Settings,
    topic: str,
    stream: BinaryIO,
    *,
    window: int,
    details: int,
    quiet: bool,
    check_names: bool,
) -> BatchReport:
    notice = await _name_checks(settings) if check_names else None
    reading = _Reading(stream, quiet=quiet)
    with reading.progress:
        async with Publisher(settings.bootstrap_servers(), topic=topic) as publisher:
            report = await publish_lines(
                publisher,
                read_lines(stream),
                window=window,
                details=details,
                on_line=reading.line_read,
                notice=notice,
            )
        reading.show()
    if report.conflicts.items and _file_size(stream) is not None:
        stream.seek(reading.start)
        name_conflicting_fields(report, stream, publisher.validate)
    return report


def name_conflicting_fields(
    report: BatchReport, stream: BinaryIO, validate: Callable[[bytes], EventBase]
) -> None:
    """Fill in the fields in which each conflict listed differs from the first line with its
    id, reading ``stream`` again (from where the run began) for those lines only."""
    wanted = {n for c in report.conflicts.items for n in (c.line, c.first_line)}
    events: dict[int, EventBase] = {}
    for item in read_lines(stream):
        if isinstance(item, Line) and item.number in wanted:
            events[item.number] = validate(item.text)
            if len(events) == len(wanted):
                break
    report.conflicts.items = [
        replace(c, fields=tuple(differing_fields(events[c.first_line], events[c.line])))
        for c in report.conflicts.items
    ]


def _as_json(report: BatchReport) -> dict[str, Any]:
    return {
        "published": report.published,
        "duplicates": [
            {"line": d.line, "id": d.event_id, "first_line": d.first_line}
            for d in report.duplicates.items
        ],
        "conflicts": [
            {"line": c.line, "id": c.event_id, "first_line": c.first_line, "fields": list(c.fields)}
            for c in report.conflicts.items
        ],
        "rejected": [
            {
                "line": r.line,
                "id": r.event_id,
                "errors": [{"field": e.field, "reason": e.reason} for e in r.errors],
            }
            for r in report.rejected.items
        ],
        "failed": [
            {"line": f.line, "id": f.event_id, "reason": f.reason} for f in report.failed.items
        ],
        "warnings": [
            {"line": w.line, "id": w.event_id, "warnings": list(w.warnings)}
            for w in report.warned.items
        ],
        "counts": {
            "lines": report.lines,
            "published": report.published,
            "duplicates": report.duplicates.total,
            "conflicts": report.conflicts.total,
            "rejected": report.rejected.total,
            "failed": report.failed.total,
            "warned": report.warned.total,
        },
        "omitted": {
            "duplicates": report.duplicates.omitted,
            "conflicts": report.conflicts.omitted,
            "rejected": report.rejected.omitted,
            "failed": report.failed.omitted,
            "warned": report.warned.omitted,
        },
        "stopped_at_line": report.stopped_at,
    }


def _problems(report: BatchReport) -> Iterator[tuple[str, str, str, str]]:
    for c in report.conflicts.items:
        fields = ", ".join(c.fields) if c.fields else "(not known: the input was not a file)"
        reason = f"line {c.first_line} used the id for another event, which was kept"
        yield str(c.line), c.event_id, fields, reason
    for r in report.rejected.items:
        for e in r.errors:
            yield str(r.line), r.event_id or "", e.field or "(event)", e.reason
    for f in report.failed.items:
        yield str(f.line), f.event_id, "(broker)", f.reason


def _print(report: BatchReport, out: Console) -> None:
    out.print(
        f"published {report.published}, duplicates within the file "
        f"{report.duplicates.total}, rejected {report.rejected.total}"
        + (f", conflicts {report.conflicts.total}" if report.conflicts.total else "")
        + (f", failed {report.failed.total}" if report.failed.total else "")
    )
    for d in report.duplicates.items:
        out.print(f"  line {d.line}: duplicate of line {d.first_line}, id {d.event_id}")
    rows = list(_problems(report))
    if rows:
        table = Table("line", "id", "field", "reason", title="not published")
        for row in rows:
            table.add_row(*row)
        out.print(table)
    if report.warned.items:
        warned = Table("line", "id", "warning", title="published, with names nobody knows")
        for w in report.warned.items:
            for warning in w.warnings:
                warned.add_row(str(w.line), w.event_id, warning)
        out.print(warned)
    omitted = [
        f"{listed.omitted} {kind}"
        for kind, listed in (
            ("duplicates", report.duplicates),
            ("conflicts", report.conflicts),
            ("rejected", report.rejected),
            ("failed", report.failed),
            ("warned", report.warned),
        )
        if listed.omitted
    ]
    if omitted:
        out.print(
            f"not listed: {', '.join(omitted)} (--details N lists up to N of each kind; "
            f"{report.details} now)"
        )
    if report.stopped_at is not None:
        out.print(
            f"[red]stopped at line {report.stopped_at}:[/red] the broker did not acknowledge "
            "a send, so that line and the rest were not published. Publish the file again once "
            "the broker is back: an event sent twice stays one event."
        )


def publish(
    file: Annotated[str, typer.Argument(help="A JSON Lines file of events, or - for stdin.")],
    topic: Annotated[
        str | None, typer.Option(help="Topic to publish to (default: the event log).")
    ] = None,
    json_report: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
    window: Annotated[
        int, typer.Option(min=1, help="Sends awaiting the broker's acknowledgement, at most.")
    ] = WINDOW,
    details: Annotated[
        int,
        typer.Option(
            min=0, help="Lines listed of each kind (duplicate, conflict, rejected, failed)."
        ),
    ] = DETAILS,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    check_names: Annotated[
        bool,
        typer.Option(
            "--check-names/--no-check-names",
            help="Warn of places and actors nobody knows, with the closest known names.",
        ),
    ] = True,
) -> None:
    """Publish a JSON Lines file of events, reading it line by line.

    Exits 1 if any line was rejected or not acknowledged.
    """
    settings = Settings()
    topic = topic or settings.topics().events
    with _opened(file) as stream:
        try:
            report = asyncio.run(
                _publish(
                    settings,
                    topic,
                    stream,
                    window=window,
                    details=details,
                    quiet=quiet or json_report,
                    check_names=check_names,
                )
            )
        except PublishFailed as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(3) from exc
    if json_report:
        sys.stdout.buffer.write(orjson.dumps(_as_json(report)) + b"\n")
    else:
        _print(report, Console())
    if not report.ok:
        raise typer.Exit(1)
