"""An in-test TCP proxy (asyncio) between the services and a server, to cut the link.

`cut()` resets every connection through the proxy and resets each new one as soon as it
is accepted (the client sees "connection reset" at once, as when a server or a firewall
drops it); `restore()` lets new connections through again. The proxy keeps listening
throughout, so the services' URLs never change.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

CHUNK = 64 * 1024
CLOSE_BOUND_S = 5.0


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), not a polite FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter

    def reset(self) -> None:
        _reset(self.client)
        _reset(self.server)


@dataclass(eq=False)
class TcpProxy:
    name: str
    upstream_host: str
    upstream_port: int
    port: int = 0
    accepted: int = 0
    refused: int = 0
    cuts: int = 0
    _cut: bool = False
    _server: asyncio.Server | None = None
    _links: set[_Link] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        self._cut = True
        self.cuts += 1
        links, self._links = self._links, set()
        for link in links:
            link.reset()

    def restore(self) -> None:
        self._cut = False

    async def close(self) -> None:
        """Stop listening and end every connection (each pump ends on the reset)."""
        if self._server is not None:
            self._server.close()
        self.cut()
        if self._tasks:
            _, stuck = await asyncio.wait(set(self._tasks), timeout=CLOSE_BOUND_S)
            for task in stuck:
                task.cancel()

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    async def _accept(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.refused += 1
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host,
                                                                 self.upstream_port)
        except OSError:
            self.refused += 1
            _reset(writer)
            return
        if self._cut:  # cut while connecting upstream
            self.refused += 1
            _reset(writer)
            _reset(up_writer)
            return
        self.accepted += 1
        link = _Link(writer, up_writer)
        self._links.add(link)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await asyncio.gather(self._pump(reader, up_writer, link),
                                 self._pump(up_reader, writer, link))
        except asyncio.CancelledError:
            link.reset()  # closing: the connection ends with the proxy (nothing to report)
        finally:
            self._links.discard(link)
            if task is not None:
                self._tasks.discard(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                    link: _Link) -> None:
        try:
            while data := await source.read(CHUNK):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # One side ended: the other is ended too (neither server nor client here
            # half-closes a connection).
            for end in (link.client, link.server):
                with contextlib.suppress(Exception):
                    end.close()
