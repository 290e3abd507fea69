"""The servers of the gateway benchmark: the trivial upstream, nginx in front of it, and Bazaar's
gateway in front of it. Each on a free loopback port, started by `Children` (so stopped with it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bazaar_local.paths import repo_root
from bazaar_local.ports import free_port
from bazaar_local.services import (
    JWT_AUDIENCE,
    JWT_ISSUER,
    SERVICES,
    EnvContext,
    service_environment,
)
from chassis import TokenSigner
from chassis.signing import generate_private_key_pem, load_private_key

from .processes import Children, wait_for

# Every client here is one address and one token: the limits must never be what is measured.
UNLIMITED_RATE_LIMITS = json.dumps(
    {
        "default": {"rate": 1_000_000, "burst": 1_000_000},
        "POST /auth/token": {"rate": 1_000_000, "burst": 1_000_000},
        "POST /users": {"rate": 1_000_000, "burst": 1_000_000},
    }
)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:  # noqa: S310
            return int(reply.status) == 200
    except OSError:
        return False


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    pid: int


def start_hello(children: Children, work_dir: Path, signer: TokenSigner) -> Server:
    jwks = work_dir / "jwks.json"
    jwks.write_text(json.dumps(signer.jwks()), encoding="utf-8")
    port = free_port()
    argv = [sys.executable, "-m", "bazaar_bench.hello_app", "--port", str(port)]
    argv += ["--jwks", str(jwks)]
    process = children.start("hello", argv)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _alive_and(children, process, "hello", f"{url}/health"), timeout=30,
             what="hello upstream")  # fmt: skip
    return Server("hello", url, process.pid)


NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream hello {{
        server {upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://hello;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def start_nginx(children: Children, binary: Path, work_dir: Path, upstream: Server) -> Server:
    """nginx as a reverse proxy with a keepalive upstream pool, one worker (one core's worth,
    as the gateway is one process), everything under its own temp prefix."""
    prefix = work_dir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    authority = upstream.url.removeprefix("http://")
    conf.write_text(NGINX_CONF.format(dir=prefix, upstream=authority, port=port), encoding="utf-8")
    argv = [str(binary), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    process = children.start("nginx", argv)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _alive_and(children, process, "nginx", f"{url}/health"), timeout=30,
             what="nginx")  # fmt: skip
    return Server("nginx", url, process.pid)


def start_gateway(
    children: Children, work_dir: Path, upstream: Server, *, log_level: str = "WARNING"
) -> Server:
    """Bazaar's gateway with every upstream set to the trivial app, which also serves the JWKS."""
    spec = next(s for s in SERVICES if s.name == "gateway")
    port = free_port()
    upstream_port = int(upstream.url.rsplit(":", 1)[1])
    ports = dict.fromkeys(("users", "products", "orders", "notifications"), upstream_port)
    # Spans go where `bazaar up` sends them: to files.
    ctx = EnvContext(
        ports={**ports, "gateway": port},
        openapi_dir=repo_root() / "contracts" / "openapi",
        log_level=log_level,
        traces_exporter="file",
        traces_dir=work_dir / "traces",
    )
    env = {
        **os.environ,
        **service_environment(spec, ctx),
        "RATE_LIMITS": UNLIMITED_RATE_LIMITS,
    }
    process = children.start("gateway", [sys.executable, "-m", spec.module], env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _alive_and(children, process, "gateway", f"{url}/ready"), timeout=60,
             what="gateway")  # fmt: skip
    return Server("gateway", url, process.pid)


def throwaway_signer(work_dir: Path) -> TokenSigner:
    key_file = work_dir / "jwt-signing.pem"
    key_file.write_bytes(generate_private_key_pem())
    return TokenSigner(
        load_private_key(key_file), issuer=JWT_ISSUER, audience=JWT_AUDIENCE, ttl_seconds=3600
    )


def _alive_and(children: Children, process: subprocess.Popen[bytes], name: str, url: str) -> bool:
    children.check_alive(process, name)
    return answers(url)
