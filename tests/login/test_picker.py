"""The interactive role picker, in a real terminal: tmux runs `rambridge login --ecp` for a
user with two roles; the test reads the screen (capture-pane), presses keys (send-keys) and
checks which role's credentials came out. The picker draws on the terminal while stdout goes
to a file, as with `eval "$(rambridge login ...)"` or the aliyun CLI's External mode."""

import json
import os
import shlex
import subprocess
import time
import uuid

import pytest

from conftest import PASSWORDS, require


class Tmux:
    """A private tmux server (its own socket) with one 200x50 session."""

    def __init__(self):
        require("tmux", "apt-get install -y tmux")
        self.socket = f"rambridge-test-{uuid.uuid4().hex[:8]}"
        self.session = "login"

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30, check=True)

    def start(self, command):
        self.tmux("new-session", "-d", "-s", self.session, "-x", "200", "-y", "50", command)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", self.session).stdout

    def keys(self, *keys):
        self.tmux("send-keys", "-t", self.session, *keys)

    def wait_for(self, predicate, what, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}; screen:\n{self.screen()}")

    def kill(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def run_in_tmux(tmux, cli, federation, workdir, *extra):
    """Starts the login in tmux; returns the paths of its stdout file and exit-status file."""
    out, rc = workdir / "out.json", workdir / "rc"
    env = cli.env(RAMBRIDGE_LOGIN_PASSWORD=PASSWORDS["bob"], TERM="xterm-256color")
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()
                       if k in ("HOME", "XDG_CACHE_HOME", "RAMBRIDGE_LOGIN_PASSWORD", "TERM", "PATH"))
    args = cli.args("--ecp", "--account", federation["alias"], "--idp-url",
                    federation["idp"].ecp_url, "--username", "bob", "--output", "json", *extra)
    command = (f"env -i {exports} {' '.join(shlex.quote(a) for a in args)} > {out}; "
               f"echo $? > {rc}; sleep 30")
    tmux.start(f"sh -c {shlex.quote(command)}")
    return out, rc


def wait_file(path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.2)
    pytest.fail(f"{path} never appeared")


def test_arrow_keys_choose_the_role(tmux, cli, federation, tmp_path):
    out, rc = run_in_tmux(tmux, cli, federation, tmp_path)
    screen = tmux.wait_for(lambda s: "Choose a role" in s, "the role picker")
    admin, dev = federation["roles"]["admin"].arn, federation["roles"]["dev"].arn
    alias = federation["alias"]
    # Both roles, with the account alias, the first one selected.
    assert f"{alias}  admin  (via pysaml2; {admin})" in screen, screen
    assert f"{alias}  dev  (via pysaml2; {dev})" in screen, screen
    selected = [line for line in screen.splitlines() if line.lstrip().startswith(">")]
    assert len(selected) == 1 and "admin" in selected[0], screen

    tmux.keys("Down")
    screen = tmux.wait_for(
        lambda s: any(line.lstrip().startswith(">") and " dev " in line for line in s.splitlines()),
        "the selection to move to dev")
    tmux.keys("Enter")
    assert wait_file(rc).strip() == "0", tmux.screen()
    creds = json.loads(out.read_text())
    assert creds["RoleArn"] == dev
    assert creds["AccessKeyId"].startswith("STS.")
    # The credentials went to stdout (the file), not to the terminal.
    assert creds["AccessKeyId"] not in tmux.screen()


def test_escape_cancels_with_a_clear_message(tmux, cli, federation, tmp_path):
    out, rc = run_in_tmux(tmux, cli, federation, tmp_path, "--profile", "cancel")
    tmux.wait_for(lambda s: "Choose a role" in s, "the role picker")
    tmux.keys("Escape")
    assert wait_file(rc).strip() == "1"
    screen = tmux.wait_for(lambda s: "error: " in s, "the error line")
    assert "error: no role chosen; run rambridge login again, or pass --role" in screen, screen
    assert out.read_text() == ""
