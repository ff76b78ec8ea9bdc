"""Free loopback ports for brokers a test or benchmark starts itself."""

from __future__ import annotations

import random
import socket

# Below Linux's ephemeral range (32768-60999), so client sockets never take a broker's port.
PORT_RANGE = (20000, 32000)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive loopback ports that are free now."""
    low, high = PORT_RANGE
    for _ in range(500):
        base = random.randrange(low, high - count)
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports in {PORT_RANGE}")
