"""Webhooks as fast as a server takes them, from a client that costs little: requests built
and signed before the clock starts, written on keep-alive connections (HTTP/1.1, one
request at a time per connection), answers read by their `Content-Length`. The client
shares the machine's cores with the server, so the less it spends, the less it takes from
what it measures; the real ingress and its ceiling meet the same client.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


def request(path: str, body: bytes, headers: dict[str, str], port: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        return self.statuses[200]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


async def _read_answer(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed by the server")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def blast(port: int, requests: Sequence[bytes], *, connections: int,
                seconds: float) -> Result:
    """Send `requests` (each once, in turn over the connections) for `seconds`; what the
    server answered. Only answers to requests sent inside the window count."""
    result = Result(seconds)
    position = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def connection() -> None:
        nonlocal position
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while loop.time() < end and position < len(requests):
                payload = requests[position]
                position += 1
                writer.write(payload)
                try:
                    status = await _read_answer(reader)
                except (ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                    result.errors[type(exc).__name__] += 1
                    return
                if loop.time() <= end:
                    result.statuses[status] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    result.seconds = max(seconds, 1e-9) if position < len(requests) else (
        time.perf_counter() - started)
    return result
