#!/usr/bin/env bash
# The peers benchmark (bench/peers/README.md): publish one topic, run every contender on it.
#   bash bench/peers/run.sh [--events N] [--reps R] [--only NAME,...] [--keep]
# Installs Quix Streams into its own virtualenv (not the project's) and resolves Kafka Streams
# 3.9 + the PostgreSQL JDBC driver from Maven Central with the Maven the broker uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
EVENTS=1000000 REPS=100 ONLY="" KEEP=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "bench/peers/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z "${KAFKA_BOOTSTRAP:-}" && -z "${DATABASE_URL:-}" ]]; then
  .venv/bin/salespulse stack up >/dev/null
fi
STATE="$(realpath -m "${SALESPULSE_STATE_DIR:-.salespulse}/peers")"  # absolute: cwd-independent
mkdir -p "$STATE"
# quix_app.py decodes orders with schemas.trusted, hence cavro and fastavro beside Quix Streams.
if ! "$STATE/quix/bin/python" -c 'import quixstreams, cavro, fastavro, psycopg2' 2>/dev/null; then
  python3 -m venv "$STATE/quix"
  "$STATE/quix/bin/pip" install -q "quixstreams==3.28.1" "psycopg2-binary>=2.9.9,<3" \
    "fastavro>=1.8,<2" "cavro>=1.0"
fi
mvn -q -f bench/peers/java/pom.xml dependency:build-classpath -Dmdep.outputFile="$STATE/classpath.txt"
export PEERS_QUIX_PYTHON="$STATE/quix/bin/python" PEERS_CLASSPATH="$STATE/classpath.txt"
export PEERS_STATE_DIR="$STATE/work"

source bench/run_env.sh
OUT="bench/results/peers-${RUN_ID}"
mkdir -p "$OUT"
cleanup() {
  rm -rf "$PEERS_STATE_DIR"
  if [[ -z "$KEEP" ]]; then $PY bench/cleanup.py || true; fi
}
trap cleanup EXIT
echo "peers run ${RUN_ID}: ${EVENTS} events, topic ${SALESPULSE_EVENTS_TOPIC}, results in ${OUT}"
# The simulated history without its corrections (bench/peers/publish_plain.py says why).
DAYS=$(( (EVENTS + REPS * 33 / 2) / (REPS * 33) ))
.venv/bin/salespulse simulate --reps "$REPS" --days "$DAYS" --seed 1 | $PY bench/peers/publish_plain.py
$PY bench/peers/run_peers.py --out "$OUT/peers.json" ${ONLY:+--only "$ONLY"} | tee "$OUT/peers.md"
