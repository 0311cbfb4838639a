"""Fixtures for the official-SDK suite: a real `rambridge serve` on 127.0.0.1 (random port)
over a temporary SQLite database, and accounts created through the real CLI.

The binary comes from $RAMBRIDGE_BIN (scripts/test sets it to the cargo-built one)."""

import json
import os
import subprocess
import tempfile

import pytest

BIN = os.path.abspath(os.environ.get("RAMBRIDGE_BIN", "target/debug/rambridge"))


class Server:
    """`rambridge serve` in `workdir` (whose ./rambridge.db it uses); `env` adds environment
    variables (e.g. LD_PRELOAD of libfaketime for a replica with a skewed clock)."""

    def __init__(self, workdir, extra=(), env=None, log="server.log"):
        self.workdir = workdir
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", *extra],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(workdir, log), "wb"),
            env={**os.environ, **(env or {})},
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on "), f"unexpected first line {line!r}"
        self.host = line.removeprefix("listening on ")

    def create_account(self, alias):
        out = subprocess.run(
            [BIN, "account", "create", "--alias", alias],
            cwd=self.workdir, check=True, capture_output=True, text=True,
        )
        return json.loads(out.stdout)

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=30) == 0


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory(prefix="rambridge-sdk-") as d:
        s = Server(d)
        yield s
        s.stop()


@pytest.fixture(scope="session")
def root(server):
    """The root AccessKey of a fresh account: {AccountId, AccountAlias, AccessKeyId, AccessKeySecret}."""
    return server.create_account("sdk-root")
