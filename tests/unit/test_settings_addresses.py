"""Every command takes the servers' addresses from one place (issue 12, defect 9)."""

from __future__ import annotations

import socket

import pytest

from infra.settings import Settings, SettingsError
from salespulse.stack.config import StackConfig
from salespulse.stack.process import answered, port_answers

PORTS = {"SALESPULSE_KAFKA_PORT": "11092", "SALESPULSE_PG_PORT": "11433"}


def test_given_only_the_stack_port_variables_then_every_command_dials_the_moved_stack() -> None:
    # before the fix: 127.0.0.1:9092 and :5433 whatever the port variables said
    settings = Settings.from_env(PORTS)
    assert settings.kafka_bootstrap == "127.0.0.1:11092"
    assert settings.database_url == "postgresql://salespulse@127.0.0.1:11433/salespulse"


def test_the_stack_and_the_commands_agree_on_the_local_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("KAFKA_BOOTSTRAP", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in PORTS.items():
        monkeypatch.setenv(name, value)
    config, settings = StackConfig.from_env(), Settings.from_env()
    assert (config.kafka_bootstrap, config.database_url) == (
        settings.kafka_bootstrap,
        settings.database_url,
    )


def test_explicit_servers_win_over_the_local_stack() -> None:
    env = {**PORTS, "KAFKA_BOOTSTRAP": "kafka:9092", "DATABASE_URL": "postgresql://db/x"}
    settings = Settings.from_env(env)
    assert (settings.kafka_bootstrap, settings.database_url) == ("kafka:9092", "postgresql://db/x")


@pytest.mark.parametrize("value", ["0", "70000", "x"])
def test_a_port_variable_that_is_no_port_is_refused_by_name(value: str) -> None:
    with pytest.raises(SettingsError, match="SALESPULSE_PG_PORT"):
        Settings.from_env({"SALESPULSE_PG_PORT": value})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_connection_to_itself_is_not_a_server_answering() -> None:
    # given a free port that the probing socket itself got as its source port (what the
    # kernel may pick in the ephemeral range): TCP's simultaneous open connects it to itself
    port = _free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        # then the probe does not take its own echo for a listening server
        assert answered(sock, "127.0.0.1", port) is False


def test_a_listening_server_answers() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert port_answers("127.0.0.1", server.getsockname()[1]) is True
