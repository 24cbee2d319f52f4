#!/usr/bin/env bash
# Measures tensorwire-loadgen's own CPU cost per request against a release tensorwire-server on
# this machine: process CPU time of the load generator (CLOCK_PROCESS_CPUTIME_ID over the
# measured part) divided by the requests it sent, for a closed loop and open-loop rates.
#
#   Benchmarks/loadgen/overhead.sh [SECONDS]      (default 10 s per run)
#
# Needs python3 only to read the JSON reports. Run it on a quiet machine: other work inflates
# both the latency and the CPU numbers.
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
