#!/usr/bin/env bash
# Builds what the benchmarks need and runs them all, writing bench/report.md
# (bench/report-smoke.md with --smoke: tiny sizes, under a minute, for CI; --engine-only: only
# the ban engine's JMH benchmarks and the address spray, to bench/target/report-engine.md).
#   bench/run.sh [--smoke] [--engine-only]
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=()
report=bench/report.md
for arg in "$@"; do
    case "$arg" in
        --smoke) smoke+=(--smoke); report=bench/target/report-smoke.md ;;
        --engine-only) smoke+=(--engine-only); [[ "$report" == bench/report.md ]] && report=bench/target/report-engine.md ;;
        *) echo "usage: bench/run.sh [--smoke] [--engine-only]" >&2; exit 2 ;;
    esac
done

# The engine and the listener are built from this tree; their tests are not this script's job.
mvn -B -q -pl bench -am package -DskipTests
cp="bench/target/classes:$(cat bench/target/bench-classpath.txt)"

java -Xmx1g --add-opens=java.base/java.net=ALL-UNNAMED -cp "$cp" org.tlsjail.bench.BenchMain "${smoke[@]}" \
    --report "$report" --work bench/target/bench-work
# Cluster mode (a private redis-server on loopback): adds its own section to the same report.
# --engine-only stops before it: ClusterBench takes no such option and is not the engine.
for arg in "$@"; do
    [[ "$arg" == --engine-only ]] && exit 0
done
exec java -Xmx1g -cp "$cp" org.tlsjail.bench.cluster.ClusterBench "${smoke[@]}" \
    --report "$report" --work bench/target/bench-work
