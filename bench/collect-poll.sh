#!/usr/bin/env bash
# Poll benchmark for the collect stage (not a test): 2,000 feeds of 20 items
# (RSS, Atom and JSON Feed in turn, about 88 MB) served by nginx on 50
# loopback addresses (127.0.1.1-50, 40 feeds each), imported with
# `import-opml` and polled with `run --once` at the default politeness
# settings. Prints wall time and peak RSS of a cold pass (empty data dir)
# and a warm pass (everything answers 304).
#
# usage: bench/collect-poll.sh [FEEDS] [ITEMS]    (needs nginx and python3)
# Budget on 2 cores: cold <= 1.5 s, warm <= 0.3 s, peak RSS <= 100 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
feeds=${1:-2000}
items=${2:-20}
bin=${TERMWATCH_BIN:-$PWD/target/release/termwatch}
farm=${FARM:-${TMPDIR:-/tmp}/tw-feedfarm-$feeds-$items}
maker=${MAKE_FEEDFARM:-$PWD/../shared/bench/make_feedfarm.py}
[ -x "$bin" ] || cargo build --release
command -v nginx >/dev/null || { echo "nginx missing: apt-get install nginx-light" >&2; exit 1; }
[ -f "$farm/feeds.opml" ] || python3 "$maker" "$farm" "$feeds" "$items" >/dev/null
started_nginx=
if ! curl -sf -o /dev/null --max-time 2 http://127.0.1.1:8089/index.txt; then
  setsid nginx -c "$farm/nginx.conf" >/dev/null 2>&1 &
  started_nginx=$!
  sleep 1
fi
work=$(mktemp -d)
cleanup() { rm -rf "$work"; [ -n "$started_nginx" ] && kill "$(cat "$farm/nginx.pid")" 2>/dev/null || true; }
trap cleanup EXIT
# The feeds are on loopback, which the collector refuses unless allowed.
export TERMWATCH_COLLECT__ALLOW_PRIVATE_HOSTS='["127.0.0.0/8"]'
tw() { "$bin" --sources "$work/sources" --data-dir "$work/data" "$@"; }
mkdir -p "$work/sources"
tw import-opml "$farm/feeds.opml" | tail -1
for pass in cold warm; do
  /usr/bin/time -f "%e %M" -o "$work/t" "$bin" --sources "$work/sources" --data-dir "$work/data" run --once >"$work/run.log" 2>&1
  read -r wall rss <"$work/t"
  printf '%-5s wall %5.2f s  peak RSS %4d MB  | %s\n' "$pass" "$wall" $((rss / 1024)) "$(tail -1 "$work/run.log")"
done
