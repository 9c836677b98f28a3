#!/usr/bin/env bash
# Reproduces the figures of docs/benchmarks.md: every process local, on this machine.
#
#   scripts/bench/figures.sh [throughput|cpu|alby|pay|scale|all] ...
#
# Env: OUT (results dir, default a new temp dir), DUR (seconds per measured run, default
# 20), CPU_CONC (requests in flight for `cpu`, default 32), SCALE_N (connections for `scale`, default 100000), NWC (an nwc binary; default:
# built from this checkout). Each figure writes its raw `nwc bench --json` reports and
# logs to $OUT/<figure>/ and prints a summary. `alby` needs node and interop/alby's
# node_modules (npm ci there). Processes it starts are stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=local
OUT=${OUT:-$(mktemp -d /tmp/nwc-figures.XXXX)}
DUR=${DUR:-20}
SCALE_N=${SCALE_N:-100000}
mkdir -p "$OUT"
if [[ -z "${NWC:-}" ]]; then
  NWC=$OUT/nwc
  go build -o "$NWC" ./cmd/nwc
fi

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

log() { echo "[$(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)] $*" >&2; }
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
waitport() { # waitport PORT: until something listens there (10 s)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1" >&2
  return 1
}
waitfile() { # waitfile PATH: until it exists (10 s)
  for _ in $(seq 100); do [[ -e $1 ]] && return 0; sleep 0.1; done
  echo "no $1" >&2
  return 1
}
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }
stop() { # stop PID: SIGTERM, wait for it
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# serve DIR RELAYPORT [flags...]: start `nwc serve` with its embedded relay; sets SERVE_PID.
serve() {
  local dir=$1 port=$2
  shift 2
  "$NWC" serve --data-dir "$dir" --relay-listen "127.0.0.1:$port" --admin-listen off --rate -1 \
    --log-level warn --no-first-connection "$@" >"$dir.out" 2>"$dir.err" &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  waitport "$port"
}

# relayproc PORT: a standalone `nwc relay` (no per-connection event rate); sets RELAY_PID.
relayproc() {
  "$NWC" relay --listen "127.0.0.1:$1" --events-per-second -1 --log-level warn >"$OUT/relay-$1.log" 2>&1 &
  RELAY_PID=$!
  PIDS+=("$RELAY_PID")
  waitport "$1"
}

bench() { "$NWC" bench --quiet --json "$@"; }

# 1. get_balance through the embedded relay: saturation, then 50 % of it, then 1,000 req/s.
fig_throughput() {
  local d=$OUT/throughput port sat half
  mkdir -p "$d"
  port=$(freeport)
  serve "$d/data" "$port"
  "$NWC" bench --connections 16 --data-dir "$d/data" --setup-only >/dev/null
  log "throughput: saturation (closed loop, 64 in flight)"
  bench --connections 16 --data-dir "$d/data" --concurrency 64 --warmup 3s --duration "${DUR}s" >"$d/saturation.json"
  sat=$(jget "$d/saturation.json" 'd["requests_per_second"]')
  half=$(python3 -c "print(round($sat/2))")
  log "throughput: open loop at $half req/s (50 %)"
  bench --connections 16 --data-dir "$d/data" --rate "$half" --warmup 2s --duration "${DUR}s" >"$d/half.json"
  log "throughput: open loop at 1000 req/s"
  bench --connections 16 --data-dir "$d/data" --rate 1000 --warmup 2s --duration "${DUR}s" >"$d/1000.json"
  stop "$SERVE_PID"
  for f in saturation half 1000; do
    echo "throughput $f: $(jget "$d/$f.json" '"%s req/s, p50 %s ms, p99 %s ms, errors %s" % (d["requests_per_second"], d["latency"]["p50_ms"], d["latency"]["p99_ms"], d["errors"])')"
  done
}

# 2. CPU per request of the service process (relay in its own process) vs the crypto.
fig_cpu() {
  local d=$OUT/cpu rport
  mkdir -p "$d"
  rport=$(freeport)
  relayproc "$rport"
  local pport
  pport=$(freeport)
  "$NWC" serve --data-dir "$d/data" --relay-listen off --relay "ws://127.0.0.1:$rport" --admin-listen off \
    --rate -1 --log-level warn --no-first-connection --pprof "127.0.0.1:$pport" >"$d/serve.out" 2>"$d/serve.err" &
  local spid=$!
  PIDS+=("$spid")
  waitfile "$d/data/nwc.db" # the service made the master key first
  "$NWC" bench --connections 16 --data-dir "$d/data" --relay "ws://127.0.0.1:$rport" --setup-only >/dev/null
  # The measured run is not profiled (the profiler's own CPU would count against the
  # service); a second, profiled run gives the shares.
  log "cpu: closed loop, ${CPU_CONC:-32} in flight, service pid $spid"
  bench --connections 16 --data-dir "$d/data" --concurrency "${CPU_CONC:-32}" --warmup 3s --duration "${DUR}s" --pid "$spid" >"$d/closed.json"
  log "cpu: closed loop again, profiled"
  (sleep 6 && curl -s -o "$d/cpu.prof" "http://127.0.0.1:$pport/debug/pprof/profile?seconds=$((DUR - 8))") &
  local cpid=$!
  bench --connections 16 --data-dir "$d/data" --concurrency "${CPU_CONC:-32}" --warmup 3s --duration "${DUR}s" --pid "$spid" >"$d/closed-profiled.json"
  wait "$cpid" || true
  log "cpu: open loop at 300 req/s"
  bench --connections 16 --data-dir "$d/data" --rate 300 --warmup 2s --duration "${DUR}s" --pid "$spid" >"$d/open300.json"
  stop "$spid"
  stop "$RELAY_PID"
  local what pat
  for what in "BIP-340 verify:nostr.verifySchnorr" "BIP-340 sign:nostr.signSchnorr" "NIP-44:nostr/nip44" \
    "store:internal/store/" "sandbox ledger:lightning/sandbox" "all SQLite:modernc.org/sqlite" \
    "WebSocket I/O:coder/websocket" "event JSON parse:nostr.decodeEvent" "GC:runtime.gcBgMarkWorker"; do
    pat=${what##*:}
    echo "cpu profile (closed loop), share of ${what%%:*}: $(go tool pprof -top -focus="$pat" "$NWC" "$d/cpu.prof" 2>/dev/null | grep -m1 'Showing nodes' | sed 's/Showing nodes accounting for //')"
  done
  # The ratio with the crypto's CPU inside the same run: the service's CPU over the part of
  # it the profile finds in BIP-340 and NIP-44 (the bench's own ratio divides by the crypto
  # timed alone on a quiet thread after the run, the stricter measure).
  local share
  share=$(go tool pprof -top -focus='nostr.verifySchnorr|nostr.signSchnorr|nostr/nip44' "$NWC" "$d/cpu.prof" 2>/dev/null |
    grep -m1 'Showing nodes' | sed -E 's/.*, ([0-9.]+)% of .*/\1/')
  echo "cpu profile (closed loop): crypto ${share}% of the service's CPU, in-run ratio $(python3 -c "print(round(100/$share, 2))")"
  for f in closed closed-profiled open300; do
    echo "cpu $f: $(jget "$d/$f.json" '"%s req/s; service %.0f us/request; crypto %.0f us (verify %.0f, decrypt %.1f, encrypt %.1f, sign %.0f); ratio %.2f" % (d["requests_per_second"], d["cpu"]["process_cpu_per_request_us"], d["cpu"]["crypto_per_request_us"], d["cpu"]["crypto_breakdown"]["verify_us"], d["cpu"]["crypto_breakdown"]["decrypt_us"], d["cpu"]["crypto_breakdown"]["encrypt_us"], d["cpu"]["crypto_breakdown"]["sign_us"], d["cpu"]["ratio"])')"
  done
}

# 3. Side by side on one standalone relay: @getalby/sdk NWCWalletService vs nwc serve.
fig_alby() {
  local d=$OUT/alby rport uri apid spid
  mkdir -p "$d"
  rport=$(freeport)
  relayproc "$rport"
  # The script runs until its stdin closes: a FIFO this shell holds open on fd 8.
  mkfifo "$d/alby.stdin"
  exec 8<>"$d/alby.stdin"
  (exec 8>&- && cd interop/alby && RELAY_URL="ws://127.0.0.1:$rport" exec node alby_bench_service.mjs) <"$d/alby.stdin" >"$d/alby.json" 2>"$d/alby.err" &
  apid=$!
  PIDS+=("$apid")
  for _ in $(seq 150); do [[ -s $d/alby.json ]] && break; sleep 0.1; done
  uri=$(jget "$d/alby.json" 'd["uri"]')
  log "alby: NWCWalletService, closed loop, 32 in flight"
  bench --uri "$uri" --concurrency 32 --warmup 3s --duration "${DUR}s" --pid "$apid" >"$d/alby-run.json"
  exec 8>&- # EOF on its stdin: the script stops
  wait "$apid" 2>/dev/null || true

  "$NWC" serve --data-dir "$d/data" --relay-listen off --relay "ws://127.0.0.1:$rport" --admin-listen off \
    --rate -1 --log-level warn --no-first-connection >"$d/serve.out" 2>"$d/serve.err" &
  spid=$!
  PIDS+=("$spid")
  waitfile "$d/data/nwc.db"
  "$NWC" bench --connections 1 --data-dir "$d/data" --relay "ws://127.0.0.1:$rport" --setup-only >/dev/null
  uri=$(head -1 "$d/data/bench-connections.txt")
  log "alby: nwc serve, same load"
  bench --uri "$uri" --concurrency 32 --warmup 3s --duration "${DUR}s" --pid "$spid" >"$d/nwc-run.json"
  stop "$spid"
  stop "$RELAY_PID"
  for f in alby-run nwc-run; do
    echo "alby $f: $(jget "$d/$f.json" '"%s req/s, p50 %s ms, p99 %s ms, errors %s, %.0f us CPU/request" % (d["requests_per_second"], d["latency"]["p50_ms"], d["latency"]["p99_ms"], d["errors"], d["cpu"]["process_cpu_per_request_us"])')"
  done
  python3 - "$d" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1] + "/alby-run.json")); n = json.load(open(sys.argv[1] + "/nwc-run.json"))
print("alby ratio: throughput x%.1f, p99 x%.1f lower, CPU/request x%.1f lower" % (
    n["requests_per_second"] / a["requests_per_second"], a["latency"]["p99_ms"] / n["latency"]["p99_ms"],
    a["cpu"]["process_cpu_per_request_us"] / n["cpu"]["process_cpu_per_request_us"]))
EOF
}

# 4. pay_invoice between two sandbox connections at 200 req/s, with a CPU profile.
fig_pay() {
  local d=$OUT/pay port pport
  mkdir -p "$d"
  port=$(freeport)
  pport=$(freeport)
  serve "$d/data" "$port" --pprof "127.0.0.1:$pport"
  "$NWC" bench --connections 2 --data-dir "$d/data" --setup-only >/dev/null
  log "pay: pay_invoice at 200 req/s (profiling the service meanwhile)"
  (sleep 5 && curl -s -o "$d/cpu.prof" "http://127.0.0.1:$pport/debug/pprof/profile?seconds=$((DUR - 8))") &
  local cpid=$!
  bench --connections 2 --data-dir "$d/data" --method pay_invoice --rate 200 --warmup 2s --duration "${DUR}s" >"$d/pay.json"
  wait "$cpid" || true
  stop "$SERVE_PID"
  echo "pay: $(jget "$d/pay.json" '"%s req/s, p50 %s ms, p99 %s ms, errors %s" % (d["requests_per_second"], d["latency"]["p50_ms"], d["latency"]["p99_ms"], d["errors_by_code"])')"
  # CPU shares: samples whose stack passes through the package, over all samples.
  local what pat
  for what in "store:internal/store/" "sandbox ledger (its own SQLite file):lightning/sandbox" \
    "all SQLite (store + sandbox):modernc.org/sqlite" "BIP-340 sign + verify:nostr.signSchnorr|nostr.verifySchnorr"; do
    pat=${what##*:}
    echo "pay: CPU share of ${what%%:*}: $(go tool pprof -top -focus="$pat" "$NWC" "$d/cpu.prof" 2>/dev/null | grep -m1 'Showing nodes' | sed 's/Showing nodes accounting for //')"
  done
}

# 5. SCALE_N connections: start-up, memory per idle connection, first vs last latency.
fig_scale() {
  local d=$OUT/scale port pport t0 t1 first last rss0 rssN
  mkdir -p "$d"
  port=$(freeport)
  # An empty instance: the baseline memory.
  serve "$d/empty" "$port"
  sleep 10
  rss0=$(awk '/VmRSS/ {print $2}' /proc/"$SERVE_PID"/status)
  stop "$SERVE_PID"
  # Record the relay URL in the data dir, then make the connections offline.
  serve "$d/data" "$port"
  stop "$SERVE_PID"
  log "scale: making $SCALE_N connections"
  "$NWC" bench --connections "$SCALE_N" --data-dir "$d/data" --setup-only >/dev/null
  first=$(head -1 "$d/data/bench-connections.txt")
  last=$(sed -n "${SCALE_N}p" "$d/data/bench-connections.txt")
  for run in 1 2; do # run 2: info events already stored by the relay, as on any restart
    pport=$(freeport)
    t0=$(date +%s.%N)
    serve "$d/data" "$port" --pprof "127.0.0.1:$pport"
    until "$NWC" balance --uri "$last" --timeout 2s >/dev/null 2>&1; do sleep 0.2; done
    t1=$(date +%s.%N)
    echo "scale run $run: the ${SCALE_N}th connection answered $(python3 -c "print('%.1f' % ($t1-$t0))") s after start"
    # Idle: wait until the service stops burning CPU (announcements done).
    local prev=0 cur busy=1
    for _ in $(seq 36); do # at most 3 minutes
      sleep 5
      cur=$(awk '{print $14+$15}' /proc/"$SERVE_PID"/stat)
      if (( cur - prev < 25 )); then busy=0; break; fi # under 5 % of a core over 5 s
      prev=$cur
    done
    echo "scale run $run: $( ((busy)) && echo "still busy" || echo idle) $(python3 -c "print('%.0f' % ($(date +%s.%N)-$t0))") s after start (CPU so far $(awk '{printf "%.1f", ($14+$15)/100}' /proc/"$SERVE_PID"/stat) s)"
    rssN=$(awk '/VmRSS/ {print $2}' /proc/"$SERVE_PID"/status)
    curl -s "http://127.0.0.1:$pport/debug/pprof/heap?debug=1" | grep -E "^# (HeapInuse|HeapAlloc|Sys) " >"$d/heap-$run.txt" || true
    curl -s -o "$d/heap-$run.prof" "http://127.0.0.1:$pport/debug/pprof/heap?gc=1" || true
    echo "scale run $run: RSS $rss0 KiB empty, $rssN KiB with $SCALE_N: $(python3 -c "print('%.2f' % (($rssN-$rss0)*1024/$SCALE_N/1024))") KiB per idle connection; $(tr '\n' ' ' <"$d/heap-$run.txt")"
    if [[ $run == 2 ]]; then
      log "scale: latency of the first and the ${SCALE_N}th connection"
      bench --uri "$first" --count 1000 --concurrency 4 >"$d/first.json"
      bench --uri "$last" --count 1000 --concurrency 4 >"$d/last.json"
      for f in first last; do
        echo "scale $f connection: $(jget "$d/$f.json" '"%s req/s, p50 %s ms, p99 %s ms, errors %s" % (d["requests_per_second"], d["latency"]["p50_ms"], d["latency"]["p99_ms"], d["errors"])')"
      done
      # The same memory figure after that load (the start-up burst's memory was returned
      # to the system; requests grow the heap again up to the GC's headroom).
      sleep 5
      rssN=$(awk '/VmRSS/ {print $2}' /proc/"$SERVE_PID"/status)
      curl -s -o "$d/heap-after-load.prof" "http://127.0.0.1:$pport/debug/pprof/heap?gc=1" || true
      echo "scale after 2,000 requests: RSS $rssN KiB: $(python3 -c "print('%.2f' % (($rssN-$rss0)*1024/$SCALE_N/1024))") KiB per connection; live heap $(go tool pprof -sample_index=inuse_space -top "$NWC" "$d/heap-after-load.prof" 2>/dev/null | sed -n 's/.*of \([0-9.]*MB\) total.*/\1/p' | head -1)"
    fi
    stop "$SERVE_PID"
  done
}

case ${1:-all} in
  throughput) fig_throughput ;;
  cpu) fig_cpu ;;
  alby) fig_alby ;;
  pay) fig_pay ;;
  scale) fig_scale ;;
  all) fig_throughput; fig_cpu; fig_alby; fig_pay; fig_scale ;;
  *) echo "usage: $0 [throughput|cpu|alby|pay|scale|all]" >&2; exit 2 ;;
esac
echo "raw results in $OUT" >&2
