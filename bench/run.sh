#!/usr/bin/env bash
# Run the benchmarks (bench/README.md): publish, then the pipeline over what was published.
# Each run has its own topics, consumer groups and schemas, all removed at the end.
#   bash bench/run.sh [--events N] [--reps R] [--workers 1,2] [--within-ms MS] [--profile]
#                     [--replay-runs 2,1,2:16M] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

EVENTS=1000000 REPS=100 WORKERS=1,2 WITHIN_MS=0 PROFILE="" KEEP="" REPLAY_RUNS=2,1,2:16M
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --within-ms) WITHIN_MS="$2"; shift 2 ;;  # extra 1-worker run with this batch window; 0: none
    --profile) PROFILE="--profile"; shift ;;
    --replay-runs) REPLAY_RUNS="$2"; shift 2 ;;  # replay runs: processes[:memory], e.g. 2,2:16M
    --keep) KEEP=1; shift ;;  # keep topics and schemas (clean up later with bench/cleanup.py)
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [[ -z "${KAFKA_BOOTSTRAP:-}" && -z "${DATABASE_URL:-}" ]]; then
  .venv/bin/salespulse stack up >/dev/null  # idempotent; left running afterwards
fi

source bench/run_env.sh
OUT="bench/results/${RUN_ID}"
mkdir -p "$OUT"

cleanup() {
  rm -rf "$OUT/work"
  if [[ -z "$KEEP" ]]; then $PY bench/cleanup.py || true; fi
}
trap cleanup EXIT

echo "bench run ${RUN_ID}: ${EVENTS} events, topic ${SALESPULSE_EVENTS_TOPIC}, results in ${OUT}"
$PY bench/bench_publish.py --events "$EVENTS" --reps "$REPS" --out "$OUT/publish.json"
# --skip-what-if: the what-if (aiokafka batches, no faust) is now the worker's batch engine.
$PY bench/bench_pipeline.py --workers "$WORKERS" --within-ms "$WITHIN_MS" $PROFILE --skip-what-if \
  --out "$OUT/pipeline.json"
$PY bench/bench_replay.py --runs "$REPLAY_RUNS" --out "$OUT/replay.json"
$PY bench/report.py "$OUT"
