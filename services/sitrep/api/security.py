"""The headers every answer carries so a browser treats it safely, and which other sites' pages
may call the API (CORS, off unless ``SITREP_API_CORS_ORIGINS`` names them).

The map loads nothing but its own script, stylesheet and the API's answers (no CDN, no inline
script), so its pages get a Content-Security-Policy allowing only the service itself; every
answer forbids being framed by another site (clickjacking) and content-type sniffing, and sends
no referrer. The interactive documents (``/docs``, ``/redoc``) are FastAPI's, which load their
viewers from a CDN: they get the framing rule, not the map's policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
EVERY_ANSWER = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
MAP_PATHS = ("/", "/map")


def _policy(path: str) -> bytes:
    if path in MAP_PATHS or path.startswith("/map/"):
        return MAP_POLICY.encode()
    return b"frame-ancestors 'none'"


class SecurityHeaders:
    """Adds the headers above to every HTTP answer (pure ASGI: streamed answers pass as is)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = _policy(scope["path"])

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in EVERY_ANSWER if h[0] not in names)
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", policy))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
