# Sourced by bench/run.sh and bench/peers/run.sh: a run id and the private topics, consumer
# group and schema prefix named after it (bench/cleanup.py removes them by the same names).
RUN_ID="$(date -u +%Y%m%dt%H%M%S)"
export SALESPULSE_EVENTS_TOPIC="bench.${RUN_ID}.events"
export SALESPULSE_DLQ_TOPIC="bench.${RUN_ID}.dlq"
export SALESPULSE_BROADCASTS_TOPIC="bench.${RUN_ID}.broadcasts"
export SALESPULSE_SCHEMA_PREFIX="bench_${RUN_ID}"
export SALESPULSE_WORKER_GROUP="bench-${RUN_ID}"
export PYTHONPATH="bench${PYTHONPATH:+:$PYTHONPATH}"
