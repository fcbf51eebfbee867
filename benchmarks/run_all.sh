#!/usr/bin/env bash
# Run the benchmarks one after another (they are CPU-bound: never run two at once), niced, each logging to
# $LOG_DIR/bench_<name>.log; results land in benchmarks/results/<name>.json.
#   benchmarks/run_all.sh                      # all, full data (about 2-3 hours on 2 busy cores)
#   benchmarks/run_all.sh --quick              # smoke test of every script (a few minutes)
#   benchmarks/run_all.sh baseline data        # some of them (names: data baseline architectures bucketing best grading budget)
# Data: $IMDB_COURSE_DATA (default /work/shared/data/aclImdb_labeled.tar.gz); cache: $IMDB_COURSE_CACHE.
set -u
cd "$(dirname "$0")"
PY="${PYTHON:-../.venv/bin/python}"
[ -x "$PY" ] || PY=python
LOG_DIR="${LOG_DIR:-/tmp}"
export PYTHONUNBUFFERED=1
QUICK=()
NAMES=()
for a in "$@"; do
  if [ "$a" = "--quick" ]; then QUICK=(--quick); else NAMES+=("$a"); fi
done
[ ${#NAMES[@]} -eq 0 ] && NAMES=(data baseline architectures bucketing best grading budget)
status=0
for n in "${NAMES[@]}"; do
  [ -f "bench_$n.py" ] || { echo "no benchmark bench_$n.py" >&2; status=2; continue; }
  log="$LOG_DIR/bench_$n${QUICK:+_quick}.log"
  echo "$(date -u +%FT%TZ) start $n -> $log"
  if nice -n 5 "$PY" "bench_$n.py" ${QUICK[@]+"${QUICK[@]}"} >"$log" 2>&1; then
    echo "$(date -u +%FT%TZ) done  $n"
  else
    echo "$(date -u +%FT%TZ) FAILED $n (see $log)"; status=1
  fi
done
exit $status
