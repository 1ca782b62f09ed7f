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


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    almo = _almo_bin()
    work = tmp_path_factory.mktemp("almo")
    address = f"127.0.0.1:{_free_port()}"
    env = dict(
        os.environ,
        ALMO_LISTEN=address,
        ALMO_DATABASE_URL=f"sqlite://{work}/almo.db?mode=rwc",
        ALMO_CONSOLE_LISTEN="off",
    )
    log = open(work / "server.log", "w")
    server = subprocess.Popen([almo, "up", "--demo"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"almo up exited: {(work / 'server.log').read_text()}")
            ok = subprocess.run([almo, "healthcheck", "--addr", address], capture_output=True)
            if ok.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"almo up not serving: {(work / 'server.log').read_text()}")
            time.sleep(0.3)
        yield Suite(almo, address)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="session")
def regulator(suite):
    with suite.client("RSH", "regulator") as c:
        yield c
