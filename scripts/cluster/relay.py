"""A TCP relay: accept on one address, forward every connection to another (ADR 0060).

The machine's RabbitMQ listens on 127.0.0.1 only, which no network namespace can reach. The
cluster's "broker host" is this relay on the bridge's address in the root namespace: hosts on
the bridge connect to it and it forwards to the loopback broker, so the broker sees a loopback
peer (``guest`` may log in) and the hosts see a broker on the network.

    python -m scripts.cluster.relay 10.231.7.1:5672 127.0.0.1:5672
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def relay(listen: tuple[str, int], target: tuple[str, int]) -> None:
    """Forward every connection accepted on ``listen`` to ``target`` until killed."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*target), timeout=5
            )
        except (OSError, TimeoutError):
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, *listen)
    print(f"relaying {listen[0]}:{listen[1]} -> {target[0]}:{target[1]}", flush=True)
    async with server:
        await server.serve_forever()


def _address(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


if __name__ == "__main__":
    asyncio.run(relay(_address(sys.argv[1]), _address(sys.argv[2])))
