"""Where the local stack lives and listens; every value can be overridden from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from infra.settings import local_database_url, local_kafka_bootstrap, port_from_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STACK_FILES = PROJECT_ROOT / "stack"
KAFKA_VERSION = "3.9.1"  # keep in step with stack/pom.xml


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    host: str
    kafka_port: int
    controller_port: int
    pg_port: int
    pg_user: str
    pg_database: str
    kafka_heap: str
    # Servers given from outside: when set, the stack starts nothing for that part.
    external_kafka: str | None
    external_database: str | None

    @classmethod
    def from_env(cls) -> StackConfig:
        env = os.environ
        state = Path(env.get("SALESPULSE_STATE_DIR", PROJECT_ROOT / ".salespulse")).resolve()
        return cls(
            state_dir=state,
            host="127.0.0.1",
            # The same variables and defaults as every command's (infra.settings).
            kafka_port=port_from_env(env, "SALESPULSE_KAFKA_PORT", 9092),
            controller_port=port_from_env(env, "SALESPULSE_KAFKA_CONTROLLER_PORT", 9093),
            pg_port=port_from_env(env, "SALESPULSE_PG_PORT", 5433),
            pg_user="salespulse",
            pg_database="salespulse",
            kafka_heap=env.get("SALESPULSE_KAFKA_HEAP", "1g"),
            external_kafka=env.get("KAFKA_BOOTSTRAP") or None,
            external_database=env.get("DATABASE_URL") or None,
        )

    @property
    def kafka_bootstrap(self) -> str:
        return self.external_kafka or local_kafka_bootstrap(self._ports())

    @property
    def database_url(self) -> str:
        return self.external_database or local_database_url(self._ports())

    def _ports(self) -> dict[str, str]:
        return {
            "SALESPULSE_KAFKA_PORT": str(self.kafka_port),
            "SALESPULSE_PG_PORT": str(self.pg_port),
        }
