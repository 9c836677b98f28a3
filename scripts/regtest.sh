#!/usr/bin/env bash
# A regtest Lightning network on 127.0.0.1 for the LND backend's acceptance tests.
#
#   scripts/regtest.sh build            build btcd/btcctl and lnd/lncli into the cache (idempotent)
#   scripts/regtest.sh start            build if needed, start the network, write the env file, print it
#   scripts/regtest.sh env              print the env file of the running network
#   scripts/regtest.sh stop             stop what this script started (PID files), remove the state dir
#   scripts/regtest.sh stop-node a|b    stop one LND node (tests restart node a)
#   scripts/regtest.sh start-node a|b   start it again with the same datadir and ports
#   scripts/regtest.sh pin              re-resolve scripts/regtest/go.{mod,sum} (maintainers only)
#
# The network: btcd "chain" (the LND nodes' backend), btcd "miner" (its only peer; mines
# to node B's wallet, since btcd's `generate` pays to --miningaddr and B's address only
# exists once B runs), LND nodes A and B. B is funded with 500+ blocks (segwit activates
# on btcd regtest only after ~432 blocks) and opens a 1,000,000 sat channel to A pushing
# 500,000 sat: A, the node under test, can pay and be paid, and as the non-initiator
# pays no commitment fees, so its balance moves by exactly what it sends and receives.
#
# Binaries come from the Go module proxy, built in a scratch module in the cache from
# the pinned scripts/regtest/go.{mod,sum}: `go install M@V` refuses modules with replace
# directives, and lnd's pins (btcec/v2 v2.3.3, lnd/sqldb v1.0.4, a protobuf replace) must
# not leak into the project's own go.mod.
#
# Environment:
#   NWC_REGTEST_CACHE  binary cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/nwc-regtest)
#   NWC_REGTEST_DIR    state dir of the running network (default /tmp/nwc-regtest-$UID)
set -euo pipefail

export GOTOOLCHAIN=local
export GOFLAGS=-buildvcs=false

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
PINS=$HERE/regtest
LND_TAGS="invoicesrpc routerrpc signrpc walletrpc chainrpc peersrpc"

CACHE=${NWC_REGTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nwc-regtest}
DIR=${NWC_REGTEST_DIR:-/tmp/nwc-regtest-$(id -u)}
ENVFILE=$DIR/env
RPCUSER=nwc
RPCPASS=nwc

log() { echo "regtest: $*" >&2; }
die() { log "$*"; exit 1; }

stamp() { cat "$PINS/go.mod" "$PINS/go.sum" | sha256sum | cut -c1-16; }
bindir() { echo "$CACHE/$(stamp)/bin"; }

write_tools() {
  # Records the main packages as requirements; never compiled itself.
  cat > "$1/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/btcsuite/btcd"
	_ "github.com/btcsuite/btcd/cmd/btcctl"
	_ "github.com/lightningnetwork/lnd/cmd/lncli"
	_ "github.com/lightningnetwork/lnd/cmd/lnd"
)
GO
}

build() {
  local bin src t0=$SECONDS
  bin=$(bindir)
  if [ -x "$bin/lnd" ] && [ -x "$bin/lncli" ] && [ -x "$bin/btcd" ] && [ -x "$bin/btcctl" ]; then
    log "binaries cached in $bin"
    return 0
  fi
  src=$CACHE/$(stamp)/src
  mkdir -p "$src" "$bin"
  cp "$PINS/go.mod" "$PINS/go.sum" "$src/"
  write_tools "$src"
  (
    cd "$src"
    go mod download
    log "building lnd and lncli (tags: $LND_TAGS)"
    go build -trimpath -tags "$LND_TAGS" -o "$bin/lnd.tmp" github.com/lightningnetwork/lnd/cmd/lnd
    go build -trimpath -tags "$LND_TAGS" -o "$bin/lncli.tmp" github.com/lightningnetwork/lnd/cmd/lncli
    log "building btcd and btcctl"
    go build -trimpath -o "$bin/btcd.tmp" github.com/btcsuite/btcd
    go build -trimpath -o "$bin/btcctl.tmp" github.com/btcsuite/btcd/cmd/btcctl
  )
  for b in lnd lncli btcd btcctl; do mv "$bin/$b.tmp" "$bin/$b"; done
  log "built in $((SECONDS - t0))s into $bin"
}

# pin re-resolves the scratch module from the proxy: lnd v0.18.3-beta.rc3 (the only
# version served here) and btcd v0.24.2, with the pins lnd needs in a consuming module.
pin() {
  local tmp
  tmp=$(mktemp -d)
  write_tools "$tmp"
  (
    cd "$tmp"
    go mod init nwc-regtest-tools >/dev/null 2>&1
    go mod edit \
      -require=github.com/lightningnetwork/lnd@v0.18.3-beta.rc3 \
      -require=github.com/btcsuite/btcd@v0.24.2 \
      -require=github.com/btcsuite/btcd/btcec/v2@v2.3.3 \
      -require=github.com/lightningnetwork/lnd/sqldb@v1.0.4 \
      -replace=google.golang.org/protobuf=github.com/lightninglabs/protobuf-go-hex-display@v1.30.0-hex-display
    go mod tidy
    grep -q 'btcec/v2 v2.3.3' go.mod || die "tidy moved btcec/v2 off v2.3.3"
    grep -q 'lnd/sqldb v1.0.4' go.mod || die "tidy moved lnd/sqldb off v1.0.4"
  )
  mkdir -p "$PINS"
  cp "$tmp/go.mod" "$tmp/go.sum" "$PINS/"
  rm -rf "$tmp"
  log "pinned into $PINS"
}

# free_port prints a TCP port nothing listens on (checked by connecting), taken from
# outside the kernel's ephemeral range: a port picked inside it can be handed to an
# outgoing connection (lncli, lnd -> btcd) before the daemon binds it, and CI once
# failed that way ("bind: address already in use").
TAKEN=" "
port_window() {
  local lo=32768 hi=60999
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  if [ "$lo" -gt 12000 ]; then echo "10000 $((lo - 1))"; else echo "$((hi + 1)) 65000"; fi
}
free_port() {
  local p from to
  read -r from to <<<"$(port_window)"
  for _ in $(seq 1 200); do
    p=$((from + (RANDOM * 32768 + RANDOM) % (to - from + 1)))
    case $TAKEN in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      TAKEN="$TAKEN$p "
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

# wait_for CMD... retries CMD for up to $TRIES seconds (default 120).
wait_for() {
  local tries=${TRIES:-120} i
  for ((i = 0; i < tries * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "timed out waiting for: $*"
}

load_state() {
  [ -f "$DIR/state" ] || die "no network in $DIR (run: $0 start)"
  # shellcheck disable=SC1091
  . "$DIR/state"
}

miner_ctl() { "$BIN/btcctl" -C "$DIR/btcctl.conf" --regtest --rpcuser=$RPCUSER --rpcpass=$RPCPASS --rpcserver=127.0.0.1:$MINER_RPC --rpccert="$DIR/miner/rpc.cert" "$@"; }
chain_ctl() { "$BIN/btcctl" -C "$DIR/btcctl.conf" --regtest --rpcuser=$RPCUSER --rpcpass=$RPCPASS --rpcserver=127.0.0.1:$CHAIN_RPC --rpccert="$DIR/chain/rpc.cert" "$@"; }
lncli_n() {
  local n=$1; shift
  local rpc_var=LND_${n^^}_RPC
  "$BIN/lncli" --lnddir="$DIR/$n" --rpcserver=127.0.0.1:${!rpc_var} --network=regtest "$@"
}

# spawn NAME CMD... starts a daemon in the background, records its PID.
spawn() {
  local name=$1; shift
  mkdir -p "$DIR/pids" "$DIR/logs"
  nohup "$@" >"$DIR/logs/$name.out" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
}

# kill_pid NAME stops a daemon this script started, if it still runs our binary.
kill_pid() {
  local f=$DIR/pids/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$DIR"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

start_btcd() { # name rpcport p2pport [extra...]
  local name=$1 rpc=$2 p2p=$3; shift 3
  mkdir -p "$DIR/$name"
  # Empty config files keep btcd and btcctl from writing defaults into the user's home
  # (btcd still creates an empty ~/.btcd: it makes its default home unconditionally).
  : >"$DIR/$name/btcd.conf"
  : >"$DIR/btcctl.conf"
  spawn "$name" "$BIN/btcd" --configfile="$DIR/$name/btcd.conf" --regtest --datadir="$DIR/$name/data" --logdir="$DIR/$name/logs" \
    --rpcuser=$RPCUSER --rpcpass=$RPCPASS --rpclisten=127.0.0.1:"$rpc" --listen=127.0.0.1:"$p2p" \
    --rpccert="$DIR/$name/rpc.cert" --rpckey="$DIR/$name/rpc.key" --txindex --nobanning \
    --trickleinterval=50ms --debuglevel=info "$@"
}

start_lnd() { # a|b
  local n=$1 alias color attempt
  local rpc_var=LND_${n^^}_RPC rest_var=LND_${n^^}_REST p2p_var=LND_${n^^}_P2P
  case $n in a) alias=nwc-a color="#3399ff" ;; b) alias=nwc-b color="#ff9900" ;; *) die "node a or b" ;; esac
  mkdir -p "$DIR/$n"
  for attempt in 1 2 3; do
    spawn "lnd-$n" "$BIN/lnd" --lnddir="$DIR/$n" --noseedbackup --bitcoin.regtest --bitcoin.node=btcd \
      --btcd.rpchost=127.0.0.1:"$CHAIN_RPC" --btcd.rpcuser=$RPCUSER --btcd.rpcpass=$RPCPASS \
      --btcd.rpccert="$DIR/chain/rpc.cert" --listen=127.0.0.1:"${!p2p_var}" \
      --rpclisten=127.0.0.1:"${!rpc_var}" --restlisten=127.0.0.1:"${!rest_var}" \
      --alias="$alias" --color="$color" --accept-keysend --nobootstrap --debuglevel=info \
      --trickledelay=50 --maxpendingchannels=10
    if TRIES=180 wait_alive "lnd-$n" lncli_n "$n" getinfo; then return 0; fi
    # lnd exited. A port taken between picking and binding is worth new ports; on a
    # restart (start-node) the ports are fixed by the state file, so there is no retry.
    if [ "${REPICK:-}" = 1 ] && grep -q "address already in use" "$DIR/logs/lnd-$n.out"; then
      log "lnd-$n: a port was taken meanwhile (attempt $attempt); picking new ones"
      printf -v "$rpc_var" %s "$(free_port)"
      printf -v "$rest_var" %s "$(free_port)"
      printf -v "$p2p_var" %s "$(free_port)"
      write_state
      continue
    fi
    die "lnd-$n exited; see $DIR/logs/lnd-$n.out"
  done
  die "lnd-$n could not bind its ports after 3 attempts"
}

# wait_alive NAME CMD... is wait_for that gives up (status 1) as soon as daemon NAME exits.
wait_alive() {
  local name=$1 tries=${TRIES:-120} i pid
  shift
  pid=$(cat "$DIR/pids/$name.pid")
  for ((i = 0; i < tries * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.25
  done
  die "timed out waiting for: $*"
}

write_state() {
  cat >"$DIR/state" <<EOF
BIN=$BIN
CHAIN_RPC=$CHAIN_RPC
CHAIN_P2P=$CHAIN_P2P
MINER_RPC=$MINER_RPC
MINER_P2P=$MINER_P2P
LND_A_RPC=$LND_A_RPC
LND_A_REST=$LND_A_REST
LND_A_P2P=$LND_A_P2P
LND_B_RPC=$LND_B_RPC
LND_B_REST=$LND_B_REST
LND_B_P2P=$LND_B_P2P
EOF
}

# Predicates for wait_for.
chain_height_ge() { [ "$(chain_ctl getblockcount)" -ge "$1" ]; }
miner_has_peer() { miner_ctl getpeerinfo | grep -q '"addr"'; }
node_synced() { lncli_n "$1" getinfo | grep -q '"synced_to_chain":[[:space:]]*true'; }
node_funded() { lncli_n "$1" walletbalance | grep -q '"confirmed_balance":[[:space:]]*"[1-9]'; }
miner_mempool_has() { miner_ctl getrawmempool | grep -q "$1"; }
channel_active() { lncli_n "$1" listchannels --active_only | grep -q '"active":[[:space:]]*true'; }
pay_from_b() { lncli_n b payinvoice --force "$1" | grep -q SUCCEEDED; }

start() {
  if [ -f "$DIR/state" ]; then
    die "a network is already running in $DIR (stop it first: $0 stop)"
  fi
  build
  BIN=$(bindir)
  local t0=$SECONDS
  # Only ever delete a directory this script made (marked), or an empty one.
  if [ -d "$DIR" ] && [ ! -f "$DIR/.nwc-regtest" ] && [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR exists and is not a regtest state dir; set NWC_REGTEST_DIR elsewhere"
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR"
  : >"$DIR/.nwc-regtest"
  CHAIN_RPC=$(free_port); CHAIN_P2P=$(free_port); MINER_RPC=$(free_port); MINER_P2P=$(free_port)
  LND_A_RPC=$(free_port); LND_A_REST=$(free_port); LND_A_P2P=$(free_port)
  LND_B_RPC=$(free_port); LND_B_REST=$(free_port); LND_B_P2P=$(free_port)
  write_state
  # Whatever fails from here on, stop what was started.
  [ -n "${NWC_REGTEST_KEEP:-}" ] || trap 'log "start failed; stopping. Last log lines:"; tail -n 20 "$DIR"/logs/*.out >&2 || true; stop' EXIT

  start_btcd chain "$CHAIN_RPC" "$CHAIN_P2P"
  wait_for test -f "$DIR/chain/rpc.cert"
  wait_for chain_ctl getblockcount
  REPICK=1 start_lnd a
  REPICK=1 start_lnd b
  local addr pub_a pub_b txid inv
  addr=$(lncli_n b newaddress p2wkh | sed -n 's/.*"address":[[:space:]]*"\(.*\)".*/\1/p')
  [ -n "$addr" ] || die "no address from node b"
  start_btcd miner "$MINER_RPC" "$MINER_P2P" --miningaddr="$addr" --connect=127.0.0.1:"$CHAIN_P2P"
  wait_for test -f "$DIR/miner/rpc.cert"
  wait_for miner_ctl getblockcount
  wait_for miner_has_peer

  log "mining 500 blocks (segwit activation, coinbase maturity)"
  for _ in 1 2 3 4 5; do miner_ctl generate 100 >/dev/null; done
  wait_for chain_height_ge 500
  TRIES=180 wait_for node_synced a
  TRIES=180 wait_for node_synced b
  TRIES=180 wait_for node_funded b

  pub_a=$(lncli_n a getinfo | sed -n 's/.*"identity_pubkey":[[:space:]]*"\(.*\)".*/\1/p')
  pub_b=$(lncli_n b getinfo | sed -n 's/.*"identity_pubkey":[[:space:]]*"\(.*\)".*/\1/p')
  lncli_n b connect "$pub_a@127.0.0.1:$LND_A_P2P" >/dev/null
  log "opening channel B -> A (1,000,000 sat, 500,000 pushed to A)"
  txid=$(lncli_n b openchannel --node_key="$pub_a" --local_amt=1000000 --push_amt=500000 | sed -n 's/.*"funding_txid":[[:space:]]*"\(.*\)".*/\1/p')
  [ -n "$txid" ] || die "openchannel gave no funding txid"
  wait_for miner_mempool_has "$txid"
  miner_ctl generate 6 >/dev/null
  TRIES=180 wait_for channel_active a
  TRIES=180 wait_for channel_active b
  # One payment B -> A proves the channel works and gives A a settle index to resume from.
  inv=$(lncli_n a addinvoice --amt=1000 --memo=setup | sed -n 's/.*"payment_request":[[:space:]]*"\(.*\)".*/\1/p')
  TRIES=60 wait_for pay_from_b "$inv"

  trap - EXIT
  cat >"$ENVFILE" <<EOF
NWC_REGTEST_DIR=$DIR
NWC_REGTEST_SCRIPT=$SELF
NWC_LND_A_HOST=127.0.0.1:$LND_A_REST
NWC_LND_A_TLSCERT=$DIR/a/tls.cert
NWC_LND_A_MACAROON=$DIR/a/data/chain/bitcoin/regtest/admin.macaroon
NWC_LND_A_PUBKEY=$pub_a
NWC_LND_B_HOST=127.0.0.1:$LND_B_REST
NWC_LND_B_TLSCERT=$DIR/b/tls.cert
NWC_LND_B_MACAROON=$DIR/b/data/chain/bitcoin/regtest/admin.macaroon
NWC_LND_B_PUBKEY=$pub_b
EOF
  log "network up in $((SECONDS - t0))s; env file: $ENVFILE"
  cat "$ENVFILE"
}

stop() {
  trap - EXIT
  [ -f "$DIR/.nwc-regtest" ] || return 0
  for name in lnd-a lnd-b miner chain; do kill_pid "$name"; done
  rm -rf "$DIR"
  log "stopped"
}

stop_node() {
  load_state
  kill_pid "lnd-$1"
}

start_node() {
  load_state
  start_lnd "$1"
}

case "${1:-}" in
  build) build ;;
  pin) pin ;;
  start) start ;;
  stop) stop ;;
  env) cat "$ENVFILE" ;;
  stop-node) stop_node "${2:?node a or b}" ;;
  start-node) start_node "${2:?node a or b}" ;;
  *) echo "usage: $0 build|start|env|stop|stop-node N|start-node N|pin" >&2; exit 2 ;;
esac
