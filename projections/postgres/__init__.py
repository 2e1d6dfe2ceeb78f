"""The PostgreSQL adapter: exactly-once writer, reads, SQL constants, registry, migrations."""
