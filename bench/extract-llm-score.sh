#!/usr/bin/env bash
# Scores `extract --backend llm` on the project's fixtures against a scripted
# endpoint (bench/fixture_llm.py) that answers each fixture's labelled changes,
# quoting its sentences: the evidence check must drop nothing true (f1 1.000),
# and with invented changes added it must drop exactly those (the same
# precision). Needs python3 and target/release/termwatch.
# usage: bench/extract-llm-score.sh [FIXTURE_DIR] (default tests/fixtures/extract)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-tests/fixtures/extract}
bin=target/release/termwatch
score=../shared/tools/score-extract
port=${LLM_SCORE_PORT:-18979}
w=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$w"' EXIT
printf '[extract.llm]\nbase_url = "http://127.0.0.1:%s/v1"\nmodel = "fixture"\ntimeout_secs = 10\n' "$port" >"$w/tw.toml"
for mode in true invented; do
  python3 bench/fixture_llm.py "$port" "$dir" "$mode" & pid=$!
  sleep 0.7
  echo "== endpoint answering the $mode changes"
  "$score" "$dir" -- "$bin" --config "$w/tw.toml" --data-dir "$w/data" extract --json --backend llm | tail -1
  kill $pid; wait $pid 2>/dev/null || true; pid=
done
