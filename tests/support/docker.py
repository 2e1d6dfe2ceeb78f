"""Does a Docker engine answer? (A docker client without an engine is not enough.)"""

from __future__ import annotations

import functools


@functools.cache
def docker_engine_answers() -> bool:
    try:
        import docker
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # the docker client raises many types; any of them means "no engine"
        return False


NO_ENGINE_REASON = (
    "no Docker engine answers (docker.from_env().ping() failed): the testcontainers path "
    "needs one; the local-process stack is used instead"
)
