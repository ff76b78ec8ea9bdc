"""A local nginx in front of several API replicas (`sitrep up --apis N`), as a load balancer
would stand in front of them in production: round robin, the next replica tried when one does
not answer, streams passed through as they come."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")


class NoProxy(RuntimeError):
    """nginx is not installed."""


def nginx() -> str:
    """The nginx binary; :class:`NoProxy` when there is none."""
    found = shutil.which("nginx") or next((p for p in NGINX_PATHS if Path(p).is_file()), None)
    if found is None:
        raise NoProxy("several API replicas need nginx in front: apt-get install nginx")
    return found


def nginx_config(home: Path, listen: str, replicas: Sequence[str], max_body_bytes: int) -> Path:
    """Write the configuration of an nginx that listens on ``listen`` (host:port) for the
    ``replicas`` (host:port each), keeping everything it writes under ``home``; its path."""
    temp = home / "temp"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / sub).mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"        server {r} max_fails=1 fail_timeout=5s;" for r in replicas)
    config = home / "nginx.conf"
    config.write_text(
        f"""# Written by `sitrep up`: nginx in front of {len(replicas)} API replicas.
daemon off;
worker_processes 1;
pid {home}/nginx.pid;
error_log {home}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    upstream sitrep_api {{
{servers}
        keepalive 32;
    }}
    server {{
        listen {listen};
        # The API refuses what is too big itself, with a problem naming the limit.
        client_max_body_size {max_body_bytes + 1024};
        location / {{
            proxy_pass http://sitrep_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # GET /v1/stream: server-sent events go out as they come, and may stay open long.
            proxy_buffering off;
            proxy_read_timeout 1h;
            # A replica down or not ready: the next one (a POST is never sent twice).
            proxy_next_upstream error timeout http_502 http_503;
        }}
    }}
}}
"""
    )
    return config
