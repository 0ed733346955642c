#!/usr/bin/env bash
# Measures the Redis rows, acache's rediscache beside gregjones/httpcache's
# redis backend (over redigo), for a 1 KiB hit, a miss and its store, and a
# revalidation answered 304, and prints a benchstat table of the two side by
# side. The runs are interleaved: each benchmark runs once per
# implementation per round, the implementation that goes first alternating,
# so that what drifts during the measure (the machine, Redis's memory) falls
# on both alike.
#
#   ACACHE_REDIS_ADDR=127.0.0.1:6379 bash benchmarks/redis.sh
#   COUNT=20 OUT=before.txt ACACHE_REDIS_ADDR=... bash benchmarks/redis.sh
#   COUNT=1 BENCHTIME=100x ACACHE_REDIS_ADDR=... bash benchmarks/redis.sh   # a check
#
# Keep OUT of a run before a change and of one after it, then compare them
# per implementation with: benchstat before.txt after.txt
set -euo pipefail
cd "$(dirname "$0")"
: "${ACACHE_REDIS_ADDR:?set ACACHE_REDIS_ADDR to the address of a Redis server}"
export ACACHE_REDIS_ADDR
count=${COUNT:-10}
benchmarks=${BENCHMARKS:-Hit1KiB MissStore1KiB Revalidate304}
out=${OUT:-$(mktemp)}
: > "$out"

# One binary for every run, built once.
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
go test -c -o "$bin" .

for round in $(seq "$count"); do
	impls="acache-redis gregjones-redis"
	if [ $((round % 2)) -eq 0 ]; then impls="gregjones-redis acache-redis"; fi
	for bench in $benchmarks; do
		for impl in $impls; do
			"$bin" -test.run '^$' -test.bench "^Benchmark${bench}\$/^impl=${impl}\$" \
				-test.count 1 -test.benchtime "${BENCHTIME:-1s}" -test.benchmem | tee -a "$out"
		done
	done
done

echo
echo "# $(go version), $(nproc) cores, $(date -u +%Y-%m-%d), Redis $(redis-cli -u "redis://$ACACHE_REDIS_ADDR" info server 2>/dev/null | sed -n 's/^redis_version:\([^\r]*\).*/\1/p') at $ACACHE_REDIS_ADDR; raw results in $out"
benchstat=${BENCHSTAT:-$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")}
if [ -x "$benchstat" ]; then
	"$benchstat" -col /impl "$out"
else
	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$out"
fi
