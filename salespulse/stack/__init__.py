"""The local stack: a single-node Kafka (KRaft) and a PostgreSQL cluster under a project folder."""
