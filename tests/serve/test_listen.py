"""The scoring port ``serve`` binds before uvicorn serves on it."""

from __future__ import annotations

import asyncio
import socket

from mlgitops.commands.serve import _listen


def test_connections_to_the_scoring_port_send_without_delay() -> None:
    """asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on sockets it knows are
    TCP: on the port bound without saying so, every answer waited for the client's delayed
    acknowledgement, about 40 ms a request (``benchmarks/bench_serve.py``)."""
    sock = _listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    class Accepted(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def serve_one() -> None:
        server = await asyncio.get_running_loop().create_server(Accepted, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            while not seen:
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(serve_one())
    assert seen == [1]
