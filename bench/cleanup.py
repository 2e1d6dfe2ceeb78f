"""Remove what one bench run made: its topics, consumer groups and PostgreSQL schemas.

Usage: .venv/bin/python bench/cleanup.py   (with the env bench/run.sh exports)
"""

from __future__ import annotations

import benchlib as bl


def main() -> None:
    s = bl.settings()
    # bench.<id>.events / .dlq / .broadcasts, and the workers' groups bench-<id>-<tag> with
    # faust's own <group>-__assignor-__leader topics.
    run_topics = s.events_topic.rsplit(".", 1)[0] + "."
    gone = bl.delete_topics_and_groups(s.kafka_bootstrap, [run_topics, s.worker_group])
    schemas = bl.drop_schemas(s.database_url, s.schema_prefix)
    print(
        f"cleanup: deleted {len(gone['topics'])} topics, {len(gone['groups'])} consumer groups, "
        f"{len(schemas)} schemas ({s.schema_prefix}*)"
    )


if __name__ == "__main__":
    main()
