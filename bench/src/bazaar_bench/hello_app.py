"""The trivial upstream: `python -m bazaar_bench.hello_app --port N [--jwks FILE]`.

A plain ASGI app on uvicorn with uvloop and httptools (as every service is served): 200 with a
short JSON body for any path, except `/.well-known/jwks.json`, which serves the JWKS the bench's
gateway verifies tokens with (so the gateway needs no users service).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from starlette.types import Receive, Scope, Send

HELLO = b'{"hello":"world"}'
JSON_HEADERS = [(b"content-type", b"application/json")]


class HelloApp:
    def __init__(self, jwks: bytes) -> None:
        self.jwks = jwks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = self.jwks if scope["path"] == "/.well-known/jwks.json" else HELLO
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A trivial upstream for the gateway benchmark")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jwks", type=Path, help="JSON file served at /.well-known/jwks.json")
    args = parser.parse_args(argv)
    jwks = args.jwks.read_bytes() if args.jwks else b'{"keys":[]}'
    uvicorn.run(
        HelloApp(jwks),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
