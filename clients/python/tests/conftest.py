"""A real `almo up --demo` on a free loopback port with its own SQLite database, for the whole
test session, and tokens minted by `almo token` for the demo's organisations.

The binary is `$ALMO_BIN` when set (CI builds it once), else the workspace's debug build, made
with `cargo build -p almo` on first use."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from almo_exchange import Client

ROOT = Path(__file__).resolve().parents[3]


def _almo_bin() -> str:
    given = os.environ.get("ALMO_BIN")
    if given:
        return given
    subprocess.run(["cargo", "build", "-q", "-p", "almo"], cwd=ROOT, check=True)
    return str(ROOT / "target" / "debug" / "almo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Suite:
    def __init__(self, almo: str, address: str):
        self.almo = almo
        self.address = address

    def token(self, org: str, role: str) -> str:
        out = subprocess.run(
            [self.almo, "token", "--org", org, "--role", role],
            check=True, capture_output=True, text=True,
        )
        return out.stdout.strip()

    def client(self, org: str, role: str) -> Client:
        return Client(self.address, self.token(org, role))


def _start(almo: str, work: Path, address: str, extra_env: dict, ready):
    env = dict(
        os.environ,
        ALMO_LISTEN=address,
        ALMO_DATABASE_URL=f"sqlite://{work}/almo.db?mode=rwc",
        ALMO_CONSOLE_LISTEN="off",
        **extra_env,
    )
    log = open(work / "server.log", "w")
    server = subprocess.Popen([almo, "up", "--demo"], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    while not ready():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            log.close()
            raise RuntimeError(f"almo up is not serving: {(work / 'server.log').read_text()}")
        time.sleep(0.3)
    return server, log


def _stop(server, log):
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    almo = _almo_bin()
    work = tmp_path_factory.mktemp("almo")
    address = f"127.0.0.1:{_free_port()}"

    def ready():
        ok = subprocess.run([almo, "healthcheck", "--addr", address], capture_output=True)
        return ok.returncode == 0

    server, log = _start(almo, work, address, {}, ready)
    try:
        yield Suite(almo, address)
    finally:
        _stop(server, log)


@pytest.fixture(scope="session")
def tls_suite(tmp_path_factory):
    """The demo served over TLS, with a throw-away CA made by openssl (as deploy/smoke.sh does);
    yields the suite (its address with https://) and the CA's PEM."""
    almo = _almo_bin()
    work = tmp_path_factory.mktemp("almo-tls")
    tls = work / "tls"
    tls.mkdir()

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    openssl("req", "-x509", "-new", "-nodes", *ec, "-days", "1", "-subj", "/CN=almo test CA",
            "-keyout", str(tls / "ca.key"), "-out", str(tls / "ca.crt"))
    openssl("req", "-new", "-nodes", *ec, "-subj", "/CN=almo", "-keyout", str(tls / "tls.key"),
            "-out", str(tls / "tls.csr"))
    (tls / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                             "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", str(tls / "tls.csr"), "-CA", str(tls / "ca.crt"), "-CAkey",
            str(tls / "ca.key"), "-CAcreateserial", "-days", "1", "-extfile", str(tls / "ext"),
            "-out", str(tls / "tls.crt"))
    address = f"127.0.0.1:{_free_port()}"
    suite = Suite(almo, f"https://{address}")
    ca = (tls / "ca.crt").read_bytes()

    def ready():
        import grpc

        channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(ca))
        try:
            grpc.channel_ready_future(channel).result(timeout=0.5)
            return True
        except grpc.FutureTimeoutError:
            return False
        finally:
            channel.close()

    env = {"ALMO_TLS_CERT": str(tls / "tls.crt"), "ALMO_TLS_KEY": str(tls / "tls.key")}
    server, log = _start(almo, work, address, env, ready)
    try:
        yield suite, ca
    finally:
        _stop(server, log)


@pytest.fixture(scope="session")
def regulator(suite):
    with suite.client("RSH", "regulator") as c:
        yield c
