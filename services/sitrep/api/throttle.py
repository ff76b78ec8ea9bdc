"""How often one client may ask: rate limits per token, per address for anonymous requests,
and on failed tokens per address (one guessing tokens is slowed down, whatever it guesses).

Counted in fixed windows in memory (the ``limits`` library), so each API process limits what
it serves itself: behind a load balancer of n replicas a client gets up to n times the rate.
Past a limit the answer is a 429 with ``Retry-After``. Health probes are never limited.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sitrep.api.problems import Problem

EXEMPT = frozenset({"/healthz", "/readyz"})


def _key_of(scope: Scope, address: str) -> tuple[str, str]:
    """What a request is counted against: its token (a digest of it), else its address."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return "token", hashlib.sha256(value).hexdigest()[:32]
    return "address", address


class RateLimits:
    """Answers 429 past ``per_token`` (requests with a token), ``per_address`` (requests
    without one) or ``failures`` (requests answered 401, per address); limits as the
    ``limits`` library writes them (``"100/second"``); None: no such limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_token: str | None,
        per_address: str | None,
        failures: str | None,
    ) -> None:
        self.app = app
        self.limiter = FixedWindowRateLimiter(MemoryStorage())
        self.per_token = parse(per_token) if per_token else None
        self.per_address = parse(per_address) if per_address else None
        self.failures = parse(failures) if failures else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown", 0))[0]
        if self.failures is not None and not self.limiter.test(self.failures, "failed", address):
            refused = self._refused(self.failures, ("failed", address), "refused tokens")
            await refused(scope, receive, send)
            return
        kind, key = _key_of(scope, address)
        limit = self.per_token if kind == "token" else self.per_address
        if limit is not None and not self.limiter.hit(limit, kind, key):
            await self._refused(limit, (kind, key), f"requests from one {kind}")(
                scope, receive, send
            )
            return

        async def sending(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] == 401
                and self.failures is not None
            ):
                self.limiter.hit(self.failures, "failed", address)
            await send(message)

        await self.app(scope, receive, sending)

    def _refused(self, limit: RateLimitItem, key: tuple[str, str], what: str) -> ASGIApp:
        reset = self.limiter.get_window_stats(limit, *key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        said = f"more than {limit.amount} {what} within {limit.get_expiry()} s: retry in {wait} s"
        return Problem(
            429, "Too many requests", said, headers={"Retry-After": str(wait)}
        ).response()
