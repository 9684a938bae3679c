"""TCP relay: lets the test hosts (network namespaces) reach the Keycloak that listens on 127.0.0.1.

    relay.py --listen 10.213.10.1:8080 --target 127.0.0.1:PORT --pidfile FILE

Binds first (a bind error fails the command), then detaches and writes FILE. Standard library only.
"""
import argparse
import asyncio
import os
import socket
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True, help="ADDRESS:PORT")
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--pidfile", required=True)
    args = parser.parse_args()
    address, port = args.listen.rsplit(":", 1)
    target_host, target_port = args.target.rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, int(port)))

    child = os.fork()
    if child:  # the parent returns once the socket is bound and the pid recorded
        with open(args.pidfile, "w") as f:
            f.write(str(child))
        return 0
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)

    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(target_host, int(target_port))
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def serve():
        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
