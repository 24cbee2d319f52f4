#!/usr/bin/env bash
# Measures tensorwire-loadgen's own CPU cost per request against a release tensorwire-server on
# this machine: process CPU time of the load generator (CLOCK_PROCESS_CPUTIME_ID over the
# measured part) divided by the requests it sent, for a closed loop and open-loop rates.
#
#   Benchmarks/loadgen/overhead.sh [SECONDS]      (default 10 s per run)
#
# Needs python3 only to read the JSON reports. Run it on a quiet machine: other work inflates
# both the latency and the CPU numbers.
#
# Recorded on the 2-CPU development VM (2026-12-04, 8 s runs; see docs/LOADGEN.md):
#   closed-loop-c1:        26511 req/s, client CPU 17.94 us/request (0.48 cores), p50 35.9 us, p99 73.8 us
#   closed-loop-c4:        27335 req/s, client CPU 20.21 us/request (0.55 cores), p50 149.6 us, p99 243.1 us
#   open-loop-2000:         2000 req/s, client CPU 77.85 us/request (0.16 cores), p50 89.9 us, p99 454.7 us
#   open-loop-5000:         5000 req/s, client CPU 77.72 us/request (0.39 cores), p50 94.2 us, p99 305.9 us
#   open-loop-5000-spin0:   5000 req/s, client CPU 74.91 us/request (0.37 cores), p50 114.2 us, p99 889.9 us
#   open-loop-10000:       10000 req/s, client CPU 60.86 us/request (0.61 cores), p50 95.3 us, p99 305.9 us
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION="${1:-10}"
swift build -c release --product tensorwire-server >/dev/null
swift build -c release --product tensorwire-loadgen >/dev/null
BIN=.build/release
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
certs/make-dev-certs.sh "$WORK/pki" >/dev/null
"$BIN/tensorwire-server" --models examples/models --port 0 --cert "$WORK/pki/server.pem" \
    --key "$WORK/pki/server-key.pem" --ca "$WORK/pki/ca.pem" --client-auth optional >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/server.log" && break; sleep 0.1; done
PORT="$(grep -o '127.0.0.1:[0-9]*' "$WORK/server.log" | head -1 | cut -d: -f2)"
CONN=(--port "$PORT" --ca "$WORK/pki/ca.pem" --cert "$WORK/pki/client.pem" --key "$WORK/pki/client-key.pem")

run() {
    local name="$1"; shift
    "$BIN/tensorwire-loadgen" credit_default "${CONN[@]}" --duration "$DURATION" --warmup 2 --quiet \
        --json "$WORK/$name.json" "$@" >"$WORK/$name.txt"
    python3 - "$WORK/$name.json" "$name" <<'PY'
import json, sys
step = json.load(open(sys.argv[1]))["steps"][0]
cpu = step["cpu"]
lat = step["latency_ns"]["corrected"]
print(f'{sys.argv[2]:>22}: {step["send_rate"]:9.0f} req/s sent, client CPU {cpu["per_request_ns"]/1000:6.2f} us/request '
      f'({cpu["cores"]:.2f} cores), p50 {lat["p50"]/1000:7.1f} us, p99 {lat["p99"]/1000:7.1f} us, late {100*step["late_share"]:.2f}%')
PY
}

echo "tensorwire-loadgen overhead, $(nproc) CPUs, ${DURATION}s per run, credit_default batch 1"
run "closed-loop-c1" --concurrency 1
run "closed-loop-c4" --concurrency 4 --connections 2
run "open-loop-2000" --rate 2000 --connections 2
run "open-loop-5000" --rate 5000 --connections 2 --threads 2
run "open-loop-5000-spin0" --rate 5000 --connections 2 --threads 2 --spin 0
run "open-loop-10000" --rate 10000 --connections 2 --threads 2
