"""`sitrep publish FILE.jsonl`: publish a file of events, then say what became of each line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sitrep.publishing import BatchReport, Publisher, PublishFailed, publish_lines
from sitrep.settings import Settings

err = Console(stderr=True)


def _read(path: str) -> list[bytes]:
    if path == "-":
        return sys.stdin.buffer.read().splitlines()
    file = Path(path)
    if not file.is_file():
        raise typer.BadParameter(f"{path}: no such file", param_hint="FILE")
    return file.read_bytes().splitlines()


def _count(lines: list[bytes]) -> int:
    return sum(1 for line in lines if line.strip())


async def _publish(bootstrap: str, topic: str, lines: list[bytes], quiet: bool) -> BatchReport:
    with Progress(
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=False,
    ) as progress:
        task = progress.add_task("publish", total=_count(lines))
        async with Publisher(bootstrap, topic=topic) as publisher:
            return await publish_lines(publisher, lines, on_line=lambda: progress.advance(task))


def _as_json(report: BatchReport) -> dict[str, Any]:
    return {
        "published": len(report.published),
        "duplicates": [
            {"line": d.line, "id": d.event_id, "first_line": d.first_line, "differs": d.differs}
            for d in report.duplicates
        ],
        "rejected": [
            {
                "line": r.line,
                "id": r.event_id,
                "errors": [{"field": e.field, "reason": e.reason} for e in r.errors],
            }
            for r in report.rejected
        ],
        "failed": [{"line": f.line, "id": f.event_id, "reason": f.reason} for f in report.failed],
    }


def _problems(report: BatchReport) -> Iterator[tuple[str, str, str, str]]:
    for r in report.rejected:
        for e in r.errors:
            yield str(r.line), r.event_id or "", e.field or "(event)", e.reason
    for f in report.failed:
        yield str(f.line), f.event_id, "(broker)", f.reason


def _print(report: BatchReport, out: Console) -> None:
    out.print(
        f"published {len(report.published)}, duplicates within the file "
        f"{len(report.duplicates)}, rejected {len(report.rejected)}"
        + (f", failed {len(report.failed)}" if report.failed else "")
    )
    for d in report.duplicates:
        note = " (with different content: the first was kept)" if d.differs else ""
        out.print(f"  line {d.line}: duplicate of line {d.first_line}, id {d.event_id}{note}")
    rows = list(_problems(report))
    if rows:
        table = Table("line", "id", "field", "reason", title="not published")
        for row in rows:
            table.add_row(*row)
        out.print(table)


def publish(
    file: Annotated[str, typer.Argument(help="A JSON Lines file of events, or - for stdin.")],
    topic: Annotated[
        str | None, typer.Option(help="Topic to publish to (default: the event log).")
    ] = None,
    json_report: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Publish a JSON Lines file of events. Exits 1 if any line was rejected or not acknowledged."""
    lines = _read(file)
    settings = Settings()
    bootstrap = settings.bootstrap_servers()
    topic = topic or settings.topics().events
    try:
        report = asyncio.run(_publish(bootstrap, topic, lines, quiet or json_report))
    except PublishFailed as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(3) from exc
    if json_report:
        sys.stdout.buffer.write(orjson.dumps(_as_json(report)) + b"\n")
    else:
        _print(report, Console())
    if not report.ok:
        raise typer.Exit(1)
