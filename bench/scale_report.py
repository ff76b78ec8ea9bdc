"""What :mod:`bench.scale` measures, the issue's goals, and the table it prints."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench.api import Phase
from bench.processors import PARTITIONS, Latency

# The goals, for a history of 1,000,000 events.
GOAL_VS_FAUST = 0.4
GOAL_BLOCK_MS = 100.0
GOAL_WORKER_MB = 600.0
GOAL_RESTART_S = 10.0
GOAL_API_MB = 800.0
GOAL_PLACE_P99_MS = 20.0
GOAL_LIST_P99_MS = 50.0
GOAL_SITUATION_P99_MS = 100.0
GOAL_VIEW_P99_MS = 100.0
MB = 1_000_000 / 1024 / 1024
"""MiB per MB: the goals are in MB, /proc counts KiB."""


# -- what is measured ---------------------------------------------------------------------------


@dataclass
class FromZero:
    events: int
    folded: int
    """Events of the log the worker's group has committed (all of them unless partial)."""
    seconds: float
    startup_s: float
    cpu_s: float | None
    peak_rss_mib: float | None
    probe: dict[str, Any] | None
    partial: bool
    failure: str | None = None
    """Why the worker stopped folding before it caught up, if it did."""

    @property
    def rate(self) -> float:
        return self.folded / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Restart:
    ready_s: float
    new_event_s: float | None
    rss_then_mib: float | None
    peak_rss_mib: float | None = None
    probe: dict[str, Any] | None = None


@dataclass
class ApiRun:
    ready_s: float | None
    restart_ready_s: float | None = None
    peak_rss_mib: float | None = None
    restart_rss_mib: float | None = None
    phases: list[tuple[Phase, int]] = field(default_factory=list)
    """Each endpoint asked, and the bytes of one of its answers."""
    probe: dict[str, Any] | None = None


def endpoints(busiest: str, middle: str, since: str) -> list[tuple[str, str, float]]:
    """(label, path, goal p99 ms) of what is asked; the baseline first, the slowest last."""
    return [
        ("GET /healthz (baseline)", "/healthz", 0.0),
        ("GET /v1/places/{busiest}", f"/v1/places/{busiest}", GOAL_PLACE_P99_MS),
        ("GET /v1/places/{busiest}?at=<mid-history>", f"/v1/places/{busiest}?at={middle}", GOAL_PLACE_P99_MS),
        ("GET /v1/places?country=SY", "/v1/places?country=SY", GOAL_LIST_P99_MS),
        ("GET /v1/places?country=SY&format=geojson", "/v1/places?country=SY&format=geojson", GOAL_LIST_P99_MS),
        ("GET /v1/strikes?country=SY&since=<last-30d>", f"/v1/strikes?country=SY&since={since}", GOAL_LIST_P99_MS),
        ("GET /v1/casualties", "/v1/casualties", GOAL_LIST_P99_MS),
        ("GET /v1/actors", "/v1/actors", GOAL_LIST_P99_MS),
        # Last: requests still queued in the API when its client gives up would hold up
        # whatever is asked next.
        ("GET /v1/situation?country=SY", "/v1/situation?country=SY", GOAL_SITUATION_P99_MS),
    ]  # fmt: skip


@dataclass
class Results:
    broker: str
    events: int
    publish_s: float
    busiest: tuple[str, int]
    places: int
    middle: str
    """The day in the middle of the pre-published history (what ``?at=`` asks about)."""
    since: str
    """30 days before its last report (what ``?since=`` asks from)."""
    floor_s: float | None = None
    worker: FromZero | None = None
    restart: Restart | None = None
    view_latency: Latency | None = None
    broker_latency: Latency | None = None
    api: ApiRun | None = None
    load_average: float = field(default_factory=lambda: os.getloadavg()[0])
    """The machine's (1 minute) when the history was published: other jobs slow it all down."""


# -- the table ---------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "?" if ok is None else ("met" if ok else "MISSED")


def mb(mib: float | None) -> str:
    return "?" if mib is None else f"{mib / MB:,.0f} MB"


def blocks(probe: dict[str, Any] | None) -> tuple[str, bool | None]:
    if probe is None:
        return "? (no probe file)", None
    text = f"{probe['max_block_ms']:,.0f} ms ({probe['blocks_over_100ms']} over 100 ms)"
    return text, probe["max_block_ms"] <= GOAL_BLOCK_MS


def row(label: str, measured: str, goal: str = "", ok: bool | None = None) -> str:
    return f"  {label:<52}{measured:<34}{goal + ': ' + verdict(ok) if goal else ''}"


def worker_rows(r: Results) -> list[str]:
    w, lines = r.worker, []
    floor_rate = r.events / r.floor_s if r.floor_s else None
    if floor_rate is not None:
        lines.append(row("bare faust agent, decode only", f"{floor_rate:,.0f} ev/s"))
    if w is None:
        return lines
    ratio = w.rate / floor_rate if floor_rate else None
    state = f" (PARTIAL: {w.folded:,} of {w.events:,} folded)" if w.partial else ""
    if w.failure is not None:
        lines.append(row("WORKER FAILED", w.failure))
    lines += [
        row("worker from zero, folded into the views", f"{w.rate:,.0f} ev/s{state}"),
        row(
            "  worker / bare faust",
            "?" if ratio is None else f"{ratio:.2f}x",
            f">= {GOAL_VS_FAUST}x",
            None if ratio is None else ratio >= GOAL_VS_FAUST,
        ),
        row("  catch-up after ready (start-up before)", f"{w.seconds:.1f} s ({w.startup_s:.1f} s)"),
        row(
            "  CPU per event (after ready)",
            "?" if w.cpu_s is None else f"{w.cpu_s / max(1, w.folded) * 1e3:.3f} ms",
        ),
        row(
            "  peak RSS (VmHWM)",
            mb(w.peak_rss_mib),
            f"< {GOAL_WORKER_MB:.0f} MB",
            None if w.peak_rss_mib is None else w.peak_rss_mib / MB < GOAL_WORKER_MB,
        ),
        row("  longest loop block", *_goal_block(w.probe)),
    ]
    if r.restart is not None:
        s = r.restart
        lines += [
            row("worker restarted on its state: ready after", f"{s.ready_s:.1f} s"),
            row(
                "  a new event on the control view after",
                "never" if s.new_event_s is None else f"{s.new_event_s:.1f} s",
                f"< {GOAL_RESTART_S:.0f} s",
                s.new_event_s is not None and s.new_event_s < GOAL_RESTART_S,
            ),
            row("  peak RSS (then / after the latency phase)", f"{mb(s.rss_then_mib)} / {mb(s.peak_rss_mib)}"),
            row("  longest loop block (incl. the latency phase)", *_goal_block(s.probe)),
        ]  # fmt: skip
    return lines


def _goal_block(probe: dict[str, Any] | None) -> tuple[str, str, bool | None]:
    text, ok = blocks(probe)
    return text, f"<= {GOAL_BLOCK_MS:.0f} ms", ok


def latency_rows(r: Results, args: argparse.Namespace) -> list[str]:
    v, b = r.view_latency, r.broker_latency
    if v is None or b is None:
        return []
    lines = [
        "",
        f"{'latency at ' + f'{args.rate:,.0f} ev/s for {args.latency_seconds:.0f} s':<54}"
        f"{'publish->view':<17}{'broker':<17}goal",
        row("timed samples (missing)", f"{len(v.samples):,} ({v.missing})".ljust(17) + f"{len(b.samples):,} ({b.missing})"),
    ]  # fmt: skip
    for label, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        both = f"{v.quantile(q):,.1f} ms".ljust(17) + f"{b.quantile(q):,.1f} ms"
        if label == "p99":
            goal, ok = f"view < {GOAL_VIEW_P99_MS:.0f} ms", v.quantile(q) < GOAL_VIEW_P99_MS
            lines.append(row(label, both, goal, ok))
        else:
            lines.append(row(label, both))
    return lines


def api_rows(r: Results, asked: dict[str, float]) -> list[str]:
    a = r.api
    if a is None:
        return []

    def ready(seconds: float | None) -> str:
        return "not ready" if seconds is None else f"{seconds:.1f} s"

    lines = [
        "",
        "API",
        row("ready from nothing / after a restart", f"{ready(a.ready_s)} / {ready(a.restart_ready_s)}"),
        row("peak RSS (serving / restarted, when ready)", f"{mb(a.peak_rss_mib)} / {mb(a.restart_rss_mib)}",
            f"< {GOAL_API_MB:.0f} MB",
            None if a.peak_rss_mib is None else a.peak_rss_mib / MB < GOAL_API_MB),
        row("longest loop block (folding and serving)", blocks(a.probe)[0]),
        "",
        f"  {'endpoint':<52}{'req/s':>8}{'p50':>10}{'p99':>10}{'bytes':>10}  goal (p99)",
    ]  # fmt: skip
    for phase, size in a.phases:
        goal = asked.get(phase.label, 0.0)
        p99 = phase.quantile(0.99)
        judged = f"< {goal:.0f} ms: {verdict(p99 < goal)}" if goal else ""
        lines.append(
            f"  {phase.label:<52}{phase.rate:>8,.{0 if phase.rate >= 100 else 1}f}"
            f"{phase.quantile(0.5):>8.1f}ms"
            f"{p99:>8.1f}ms{size:>10,}  {judged}"
        )
    return lines


def table(r: Results, args: argparse.Namespace, command: str) -> str:
    asked = {label: goal for label, _, goal in endpoints("", "", "")}
    lines = [
        f"Sitrep scale benchmark — {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}",
        f"command: {command}",
        f"broker:  {r.broker}; {PARTITIONS} partitions",
        f"machine: load average (1 min) {r.load_average:.2f} when the history was published, "
        f"{os.getloadavg()[0]:.2f} at the end",
        f"history: {r.events:,} events (seed {args.seed}) over {r.places:,} places; busiest "
        f"{r.busiest[0]} with {r.busiest[1]:,} reports; pre-published at "
        f"{r.events / r.publish_s:,.0f} ev/s",
        f"asked:   ?at={r.middle} (mid-history), ?since={r.since} (its last 30 days)",
        "goals:   the issue's, stated for 1,000,000 events",
        "",
        f"{'worker':<54}{'measured':<34}goal",
        *worker_rows(r),
        *latency_rows(r, args),
        *api_rows(r, asked),
    ]
    return "\n".join(lines)
