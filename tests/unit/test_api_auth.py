"""Access control: the auth file, 401 without a token, each role's allowed and forbidden calls."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from salespulse.api import server
from salespulse.api.auth import AuthFileError, TokenBook
from salespulse.api.server import is_loopback
from salespulse.commands import api as api_command
from tests.support.api import AUTH_TOML, TOKENS, World, make_world

ROLES = ("admin", "manager_d1", "manager_t2", "rep_r1", "producer")
OK, NO = 200, 403

# endpoint -> expected status per role, in ROLES order.
MATRIX = {
    "/api/goals?scope=company": (OK, NO, NO, NO, NO),
    "/api/goals?scope=unit:d1": (OK, OK, NO, NO, NO),
    "/api/goals?scope=unit:t1": (OK, OK, NO, NO, NO),  # a manager sees the subtree
    "/api/goals?scope=unit:t2": (OK, OK, OK, NO, NO),
    "/api/goals?scope=unit:t3": (OK, NO, NO, NO, NO),  # another department
    "/api/goals?scope=rep:r4": (OK, OK, OK, NO, NO),
    "/api/goals?scope=rep:r1": (OK, OK, NO, OK, NO),
    "/api/goals": (OK, OK, OK, OK, NO),  # everyone's own scope
    "/api/funnel?scope=unit:t2": (OK, OK, OK, NO, NO),
    "/api/behaviour?scope=rep:r1": (OK, OK, NO, OK, NO),
    "/api/plan?scope=rep:r5": (OK, NO, NO, NO, NO),
    "/api/conflicts?scope=company&period=2026-11": (OK, NO, NO, NO, NO),
    "/api/conflicts?scope=unit:t2&period=2026-11": (OK, OK, OK, NO, NO),
    "/api/conflicts?scope=rep:r1&period=2026-11": (OK, OK, NO, OK, NO),
    "/api/conflicts?period=2026-11": (OK, OK, OK, OK, NO),  # everyone's own scope
    "/api/reps/r1/daily?date=2026-11-10": (OK, OK, NO, OK, NO),
    "/api/reps/r4/daily?date=2026-11-10": (OK, OK, OK, NO, NO),
    "/api/targets/history?scope=rep:r1&metric=revenue&period=2026-11": (OK, OK, NO, OK, NO),
    # positions and broadcasts are public on the floor, for every reading role
    "/api/leaderboard?scope=company": (OK, OK, OK, OK, NO),
    "/api/leaderboard?scope=unit:t3": (OK, OK, OK, OK, NO),
    "/api/contest?units=t1,t3": (OK, OK, OK, OK, NO),
    "/api/broadcasts": (OK, OK, OK, OK, NO),
    "/api/org": (OK, OK, OK, OK, NO),
    "/api/kpi-versions": (OK, NO, NO, NO, NO),
    "/api/achievement?scope=unit:d1": (OK, OK, NO, NO, NO),
    "/api/achievement?scope=unit:t2": (OK, OK, OK, NO, NO),
    "/api/achievement?scope=company": (OK, NO, NO, NO, NO),
    "/api/achievement": (OK, OK, OK, OK, NO),  # everyone's own scope
    "/api/whoami": (OK, OK, OK, OK, OK),  # even a producer may ask who it is
    "/metrics": (OK, NO, NO, NO, NO),
    "/api/notify/status": (OK, NO, NO, NO, NO),
    # exports: as their JSON forms
    "/api/reports/achievement.csv?scope=unit:t2": (OK, OK, OK, NO, NO),
    "/api/reports/achievement.xlsx?scope=rep:r1": (OK, OK, NO, OK, NO),
    "/api/reports/achievement.csv": (OK, OK, OK, OK, NO),
    "/api/leaderboard.csv?scope=unit:t3": (OK, OK, OK, OK, NO),
}


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.mark.parametrize("url", sorted(MATRIX))
def test_each_role_gets_exactly_its_scope(world: World, url: str) -> None:
    got = tuple(world.get(url, who=role).status_code for role in ROLES)
    assert got == MATRIX[url]


@pytest.mark.parametrize("url", sorted(MATRIX))
def test_without_a_token_every_api_call_is_401_with_a_bearer_challenge(
    world: World, url: str
) -> None:
    response = world.get(url, who=None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == {
        "parameter": "authorization",
        "error": "missing bearer token",
    }


def test_an_unknown_token_is_401(world: World) -> None:
    response = world.client.get("/api/goals", headers={"Authorization": "Bearer nope-nope-nope"})
    assert response.status_code == 401 and response.json()["detail"]["error"] == "unknown token"


def test_a_forbidden_scope_says_who_and_what(world: World) -> None:
    detail = world.get("/api/goals?scope=unit:t1", who="manager_t2").json()["detail"]
    assert detail == {"parameter": "scope", "error": "manager t2 may not see unit:t1 in detail"}


def test_the_token_query_parameter_counts_only_for_the_event_stream(world: World) -> None:
    # EventSource cannot send headers; everything else must not take tokens from URLs.
    assert world.client.get(f"/api/goals?token={TOKENS['admin']}").status_code == 401


def test_health_and_the_dashboard_need_no_token(world: World) -> None:
    health = world.get("/health", who=None).json()
    assert (health["status"], health["mode"]) == ("ok", "tokens")
    assert world.get("/", who=None).status_code == 200


def test_open_mode_treats_every_caller_as_an_admin() -> None:
    world = make_world(open_mode=True)
    assert world.get("/api/goals?scope=company", who=None).status_code == 200
    assert world.get("/api/kpi-versions", who=None).status_code == 200
    assert world.get("/health", who=None).json()["mode"] == "open"


def test_the_auth_file_is_read_into_principals() -> None:
    book = TokenBook.from_toml(AUTH_TOML)
    assert len(book) == 5
    manager = book.lookup(TOKENS["manager_d1"])
    assert manager is not None and (manager.role, manager.unit) == ("manager", "d1")
    rep = book.lookup(TOKENS["rep_r1"])
    assert rep is not None and (rep.rep_id, rep.name) == ("r1", "Rep One")
    assert book.lookup("not-a-token-at-all") is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("tokens = 3", "at least one [[tokens]]"),
        (
            "[[tokens]]\ntoken = 'short'\nrole = 'admin'",
            "tokens[0]: token: must be a string of 16+",
        ),
        ("[[tokens]]\ntoken = 'a-long-enough-token'\nrole = 'boss'", "role: 'boss' is not one"),
        ("[[tokens]]\ntoken = 'a-long-enough-token'\nrole = 'manager'", "unit: a manager token"),
        ("[[tokens]]\ntoken = 'a-long-enough-token'\nrole = 'rep'", "rep_id: a rep token"),
        ("[[tokens]]\ntoken = 'a-long-enough-token'\nrole = 'admin'\nteam = 'x'", "unknown key"),
        (
            "[[tokens]]\ntoken = 'a-long-enough-token'\nrole = 'admin'\n"
            "[[tokens]]\ntoken = 'a-long-enough-token'\nrole = 'producer'",
            "tokens[1]: token: the same token is listed twice",
        ),
        ("[[tokens]\n", "not valid TOML"),
    ],
)
def test_a_bad_auth_file_is_refused_naming_the_entry_and_field(text: str, words: str) -> None:
    with pytest.raises(AuthFileError) as info:
        TokenBook.from_toml(text, "auth.toml")
    assert words in str(info.value) and str(info.value).startswith("auth.toml")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_open_mode_refuses_a_public_host_before_starting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SALESPULSE_AUTH_FILE", raising=False)
    code = api_command.run(argparse.Namespace(host="0.0.0.0", port=8000))
    assert code == 2
    err = capsys.readouterr().err
    assert "refusing to bind 0.0.0.0" in err and "open local mode" in err


def test_a_broken_auth_file_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALESPULSE_AUTH_FILE", "/nonexistent/auth.toml")
    code = api_command.run(argparse.Namespace(host="127.0.0.1", port=8000))
    assert code == 2 and "cannot read" in capsys.readouterr().err


def test_open_mode_says_so_at_start_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: list[tuple[object, str, int]] = []
    monkeypatch.delenv("SALESPULSE_AUTH_FILE", raising=False)
    monkeypatch.setattr(server, "build_app", lambda settings, tokens: ("app", tokens))
    monkeypatch.setattr(server, "serve", lambda app, host, port: served.append((app, host, port)))
    assert api_command.run(argparse.Namespace(host="127.0.0.1", port=8123)) == 0
    assert served == [(("app", None), "127.0.0.1", 8123)]
    err = capsys.readouterr().err
    assert "open local mode" in err and "http://127.0.0.1:8123/" in err


def test_with_an_auth_file_any_host_may_be_bound(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    auth_file = tmp_path / "auth.toml"
    auth_file.write_text(AUTH_TOML, encoding="utf-8")
    served: list[str] = []
    monkeypatch.setenv("SALESPULSE_AUTH_FILE", str(auth_file))
    monkeypatch.setattr(server, "build_app", lambda settings, tokens: tokens)
    monkeypatch.setattr(server, "serve", lambda app, host, port: served.append(host))
    assert api_command.run(argparse.Namespace(host="0.0.0.0", port=8000)) == 0
    assert served == ["0.0.0.0"] and "5 token(s)" in capsys.readouterr().err
