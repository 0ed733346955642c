#!/usr/bin/env bash
# Measures acache beside the floor and gregjones/httpcache in one run and
# prints a benchstat table with each implementation beside the floor (the
# first column; benchstat's "vs base" is the ratio to it minus one).
#
#   bash benchmarks/run.sh            # every scenario, 6 runs each
#   COUNT=10 BENCH=Hit1KiB$ bash benchmarks/run.sh
#
# The Redis rows need a server: ACACHE_REDIS_ADDR=127.0.0.1:6379.
set -euo pipefail
cd "$(dirname "$0")"
out=${OUT:-$(mktemp)}
go test -run '^$' -bench "${BENCH:-.}" -count "${COUNT:-6}" -benchmem . | tee "$out"
echo
echo "# $(go version), $(nproc) cores, $(date -u +%Y-%m-%d), Redis at ${ACACHE_REDIS_ADDR:-(none)}"
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$out"
