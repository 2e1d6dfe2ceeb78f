"""Tokens never reach a log: the stream's `?token=` is redacted in the access log (defect 7)."""

from __future__ import annotations

import httpx
import pytest

from salespulse.runtime import ensure_active_version
from tests.integration.conftest import Deployment
from tests.support.api_process import ApiProcess

pytestmark = pytest.mark.integration

TOKEN = "tok-never-in-the-log-5f1c9a"


def test_a_token_in_the_query_string_is_redacted_in_the_access_log(
    deployment: Deployment,
) -> None:
    auth = deployment.log_dir / "auth.toml"
    auth.write_text(f'[[tokens]]\ntoken = "{TOKEN}"\nrole = "admin"\n')
    env = {**deployment.env, "SALESPULSE_AUTH_FILE": str(auth)}
    ensure_active_version(deployment.settings)
    api = ApiProcess(env, deployment.log_dir / "api.log").start()
    try:
        # given a dashboard opening the stream the only way EventSource can: ?token=
        with httpx.stream("GET", f"{api.url}/api/stream?token={TOKEN}", timeout=10) as stream:
            assert stream.status_code == 200
        httpx.get(f"{api.url}/api/kpi-versions?token={TOKEN}&x=1", timeout=10)
    finally:
        api.stop()
    log = api.output()
    # then the requests are logged, the token is not (before the fix: in full)
    assert "/api/kpi-versions?token=[redacted]&x=1" in log, log[-2000:]
    assert TOKEN not in log
