"""The README's shell examples run as written, in README order, against a private deployment
(as pyeventsourcing runs its docs): a command that stops working fails here, not for a reader.

Every `salespulse` command in a ```bash block runs, except those in NOT_RUN, each with the
reason it cannot run inside a test. A command the README adds later runs automatically.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.conftest import Deployment
from tests.support.targets import log_size

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SP = ".venv/bin/salespulse"
# (subcommand, first argument) -> why the command is not run here.
NOT_RUN = {
    ("stack", "down"): "it would stop the servers the whole test session uses",
    ("worker", None): "runs until stopped: this test starts the deployment's worker itself",
    ("api", None): "runs until stopped: the API is driven by tests/e2e/test_dashboard_browser.py",
    ("demo", None): "runs until stopped: tests/e2e/test_demo.py runs the demo",
    ("notify", None): "runs until stopped: tests/integration/test_notify.py runs the notifier",
}
LIVE_S = 3.0  # a live run (`--rate`) is stopped with Ctrl-C once it has published this long


def readme_commands(text: str) -> list[str]:
    """Every `salespulse` command line of the README's bash blocks, continuations joined."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith(SP + " "):
                commands.append(line)
    return commands


def _key(command: str) -> tuple[str, str | None]:
    words = shlex.split(command.split(">", 1)[0])[1:]
    first = words[1] if len(words) > 1 and not words[1].startswith("-") else None
    return words[0], first if (words[0], first) in NOT_RUN else None


def test_the_readme_lists_its_commands_and_each_is_run_or_named_as_not_run() -> None:
    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) >= 12, commands
    kinds = {_key(c) for c in commands}
    assert ("produce", None) in kinds and ("replay", None) in kinds


def _await_publishing(process: subprocess.Popen[str], deployment: Deployment) -> None:
    """Wait until a live run has put events on the log (start-up is slow on a busy machine),
    so that Ctrl-C meets a running feed, as it would for a reader watching it."""
    settings = deployment.settings
    before = log_size(settings.kafka_bootstrap, settings.events_topic)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if log_size(settings.kafka_bootstrap, settings.events_topic) > before:
            return
        time.sleep(0.5)


def test_every_readme_command_runs_as_written(deployment: Deployment, tmp_path: Path) -> None:
    # Given a private deployment (its own topics and schemas) and a folder holding what the
    # README's relative paths name
    for name in (".venv", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**deployment.env, "PATH": f"{ROOT / '.venv/bin'}:/usr/bin:/bin"}
    # and its worker running, as the README's "salespulse worker" line has it
    deployment.start_worker()
    ran = 0
    for command in readme_commands((ROOT / "README.md").read_text(encoding="utf-8")):
        key = _key(command)
        if key in NOT_RUN:
            continue
        # When it runs as written
        process = subprocess.Popen(
            ["bash", "-c", command], cwd=tmp_path, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        live = "--rate" in command
        if live:
            _await_publishing(process, deployment)
        try:
            _, err = process.communicate(timeout=LIVE_S if live else 300)
        except subprocess.TimeoutExpired:
            assert live, f"{command!r} did not finish"
            process.send_signal(signal.SIGINT)  # Ctrl-C, as the README's reader would
            _, err = process.communicate(timeout=30)
        # Then it succeeds (produce: only in-file resubmissions may be rejected, exit 1)
        if key[0] == "produce" and process.returncode == 1:
            # (a warning, e.g. a duplicate deal 撞单 the simulator makes, is not a rejection)
            problems = [
                line
                for line in err.splitlines()
                if "duplicate of" not in line and ": warning: " not in line
            ]
            assert problems == [], (command, problems[:5])
        else:
            assert process.returncode == 0, (command, err[-2000:])
        ran += 1
        # What a command published is projected before the next reads it (as a reader waits).
        deployment.wait_idle()
    assert ran >= 10
