#!/usr/bin/env bash
# A local, real Kubernetes control plane: etcd + kube-apiserver only (no
# kubelet, controller-manager or scheduler, so no pods run, no garbage
# collection, no namespace finalization), in the spirit of controller-runtime's
# envtest. Everything listens on 127.0.0.1 only.
#
# Usage: hack/cluster.sh up|down|restart|status
#   up       start (or reuse) the control plane; prints the kubeconfig path
#   down     stop it and remove its state (certificates in pki/ are kept)
#   restart  stop and start etcd + kube-apiserver on the same ports, with the
#            same etcd data, certificates and audit log (for fault tests)
#   status   exit 0 and print "running <url>" when up and ready, else exit 1
#
# CLUSTER_DIR (default <repo>/.cache/cluster) holds all state, so a second,
# independent cluster can be run with another CLUSTER_DIR. Files there:
#   kubeconfig, env (KEY=value lines for other scripts), audit.log,
#   etcd.log, kube-apiserver.log, etcd.pid, kube-apiserver.pid, pki/
#
# stdout carries only the result (kubeconfig path, or the status line) so that
# callers can capture it; progress and errors go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

# Absolute, because the path ends up in the kubeconfig, the env file and the
# command lines we match when looking for our own processes.
CLUSTER_DIR="$(realpath -m "${CLUSTER_DIR:-$root/.cache/cluster}")"
pki="$CLUSTER_DIR/pki"
kubeconfig="$CLUSTER_DIR/kubeconfig"
env_file="$CLUSTER_DIR/env"
audit_log="$CLUSTER_DIR/audit.log"
audit_policy="$root/hack/audit-policy.yaml"
etcd_log="$CLUSTER_DIR/etcd.log"
apiserver_log="$CLUSTER_DIR/kube-apiserver.log"
etcd_pidf="$CLUSTER_DIR/etcd.pid"
apiserver_pidf="$CLUSTER_DIR/kube-apiserver.pid"

# The issuer is also the audience, like a real cluster's default, so tokens
# from the TokenRequest API are accepted by this apiserver.
sa_issuer="https://kubernetes.default.svc.cluster.local"
ready_timeout=120
etcd_data_prefix="${TMPDIR:-/tmp}/configpush-etcd."

# Filled from the env file (load_env) or when picking ports (cmd_up).
ETCD_CLIENT_PORT="" ETCD_PEER_PORT="" APISERVER_PORT="" ETCD_DATA_DIR=""
bin_dir=""

log() { echo "cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- processes

# alive PID NAME: PID is a live, non-zombie process named NAME. Checking the
# name guards against a stale pid file whose pid has since been reused; the
# zombie check matters where pid 1 does not reap orphans (containers).
alive() {
  local pid=$1 name=$2 comm state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] || return 1
  state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# pid_from FILE NAME: print the pid in FILE if that process is alive.
pid_from() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  alive "$pid" "$2" && echo "$pid"
}

# pids_with_arg NAME ARG: live NAME processes that have ARG as one whole
# argument. A fallback for processes whose pid file was lost (e.g. the script
# was killed between spawning and writing it); matching an exact argument that
# embeds CLUSTER_DIR or our etcd data dir only ever finds our own processes.
pids_with_arg() {
  local name=$1 arg=$2 d pid
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    alive "$pid" "$name" || continue
    tr '\0' '\n' <"$d/cmdline" 2>/dev/null | grep -Fxq -- "$arg" && echo "$pid"
  done
  return 0
}

# kill_pid NAME PID: SIGTERM, wait up to 10 s, then SIGKILL. These processes
# are not our children (they were started by an earlier invocation), so we
# poll instead of using `wait`.
kill_pid() {
  local name=$1 pid=$2 i
  alive "$pid" "$name" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do alive "$pid" "$name" || break; sleep 0.1; done
  if alive "$pid" "$name"; then
    log "$name (pid $pid) ignored SIGTERM for 10s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do alive "$pid" "$name" || break; sleep 0.1; done
    alive "$pid" "$name" && die "could not stop $name (pid $pid)"
  fi
  # The daemon was reparented to pid 1, which may reap it only lazily (here a
  # container's init does so after a moment). Give it up to 3 s so that a
  # `pgrep` right after `down` does not show a <defunct> entry; a zombie
  # holds no ports or files, so we do not fail if it lingers.
  for ((i = 0; i < 30; i++)); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
}

# stop_procs: stop kube-apiserver (first, so it does not spend its last
# seconds logging etcd errors) then etcd; keeps the etcd data and certs.
stop_procs() {
  local pid
  if pid=$(pid_from "$apiserver_pidf" kube-apiserver); then kill_pid kube-apiserver "$pid"; fi
  for pid in $(pids_with_arg kube-apiserver "--audit-log-path=$audit_log"); do
    kill_pid kube-apiserver "$pid"
  done
  if pid=$(pid_from "$etcd_pidf" etcd); then kill_pid etcd "$pid"; fi
  if [[ -n $ETCD_DATA_DIR ]]; then
    for pid in $(pids_with_arg etcd "--data-dir=$ETCD_DATA_DIR"); do kill_pid etcd "$pid"; done
  fi
  rm -f "$apiserver_pidf" "$etcd_pidf"
}

# teardown: stop everything and remove all per-run state, so that no stale
# kubeconfig or env file ever points at a dead server.
teardown() {
  stop_procs
  # Only delete a data dir we created (guards against a corrupt env file).
  if [[ -n $ETCD_DATA_DIR && $ETCD_DATA_DIR == "$etcd_data_prefix"* && -d $ETCD_DATA_DIR ]]; then
    rm -rf "$ETCD_DATA_DIR"
  fi
  rm -f "$kubeconfig" "$audit_log" "$env_file"
  ETCD_DATA_DIR=""
}

# spawn NAME PIDFILE LOGFILE CMD...: start a daemon that outlives this script.
# - setsid: its own session and process group, so Ctrl-C in the caller's
#   terminal or vitest killing its process group does not reach it. Because a
#   background job of a non-interactive shell is never a group leader, setsid
#   does not fork, so $! is the daemon's own pid (checked via its name later).
# - nohup: ignore SIGHUP when the calling terminal goes away.
# - stdin/stdout/stderr away from the caller's pipes: a `$(hack/cluster.sh up)`
#   would otherwise wait for the daemon to exit. Fd 9 (our lock) is closed so
#   the daemon does not hold the lock forever.
# The pid file is written immediately, so the process is never unaccounted for.
spawn() {
  local pidf=$2 logf=$3
  shift 3
  setsid nohup "$@" </dev/null >>"$logf" 2>&1 9>&- &
  echo "$!" >"$pidf"
}

# --------------------------------------------------------------- readiness

etcd_healthy() {
  # Captured, not piped to grep -q: under pipefail an early grep exit can fail curl.
  local out
  out=$(curl -fsS --max-time 3 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null) || return 1
  [[ $out == *'"health":"true"'* ]]
}

apiserver_ready() {
  local out
  out=$(curl -fsS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null) || return 1
  [[ $out == ok ]]
}

# wait_for NAME PIDFILE LOGFILE CHECK: poll CHECK until it passes; fail early
# if the process died, and show the log tail on failure.
wait_for() {
  local name=$1 pidf=$2 logf=$3 check=$4 deadline pid
  deadline=$((SECONDS + ready_timeout))
  pid=$(<"$pidf")
  until "$check"; do
    if ! alive "$pid" "$name"; then
      # Just after spawn the process may still be named setsid/nohup.
      if [[ -d /proc/$pid ]] && grep -qxE 'setsid|nohup' "/proc/$pid/comm" 2>/dev/null; then
        sleep 0.2; continue
      fi
      log "$name (pid $pid) exited; last lines of $logf:"
      tail -n 30 "$logf" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name not ready after ${ready_timeout}s; last lines of $logf:"
      tail -n 30 "$logf" >&2
      return 1
    fi
    sleep 0.5
  done
}

# ------------------------------------------------------------------ start

start_etcd() {
  # --unsafe-no-fsync: a throwaway test store; skipping fsync makes it much
  # faster on slow CI disks and only risks data on a kernel crash, not on
  # SIGTERM/SIGKILL (restart keeps the data either way). On restart the
  # --initial-* flags are ignored: membership comes from the existing WAL.
  # --quota-backend-bytes: 8 GiB instead of etcd's 2 GiB, so the bench's
  # 100,000 pushes (each with its target, Event and status revisions between
  # the apiserver's 5-minute compactions) never hit "mvcc: database space
  # exceeded"; etcd only maps what it uses. ETCD_QUOTA_BACKEND_BYTES overrides.
  spawn etcd "$etcd_pidf" "$etcd_log" "$bin_dir/etcd" \
    --name=configpush-local \
    --data-dir="$ETCD_DATA_DIR" \
    --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="configpush-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync=true \
    --quota-backend-bytes="${ETCD_QUOTA_BACKEND_BYTES:-8589934592}"
}

start_apiserver() {
  # Admission plugins are left at their defaults. Note that without a
  # controller-manager nobody creates the "default" ServiceAccount in new
  # namespaces, so creating a bare Pod there fails in the ServiceAccount
  # admission plugin until that ServiceAccount exists; Deployments,
  # ServiceAccounts, ConfigMaps etc. are unaffected.
  # Audit: every write, one JSON line each (see hack/audit-policy.yaml);
  # maxsize=0 disables rotation (plain O_APPEND file, so restart appends) and
  # blocking mode writes the line before the response completes.
  # --cert-dir: never fall back to /var/run/kubernetes.
  # --endpoint-reconciler-type=none: the reconciler would publish 127.0.0.1 as
  # the endpoint of the "kubernetes" Service, which Endpoints validation
  # rejects (loopback), so it retried every 10 s and put a failed (422) create
  # into the audit log each time. Nothing here runs pods that would use it.
  spawn kube-apiserver "$apiserver_pidf" "$apiserver_log" "$bin_dir/kube-apiserver" \
    --advertise-address=127.0.0.1 \
    --bind-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --authorization-mode=RBAC \
    --client-ca-file="$pki/ca.crt" \
    --tls-cert-file="$pki/apiserver.crt" \
    --tls-private-key-file="$pki/apiserver.key" \
    --cert-dir="$pki" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true \
    --endpoint-reconciler-type=none \
    --service-account-issuer="$sa_issuer" \
    --api-audiences="$sa_issuer" \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --audit-policy-file="$audit_policy" \
    --audit-log-path="$audit_log" \
    --audit-log-format=json \
    --audit-log-mode=blocking \
    --audit-log-maxsize=0 \
    --audit-log-maxbackup=0 \
    --audit-log-maxage=0
}

# start_all: etcd, then kube-apiserver; returns non-zero (after logging why)
# on failure. Called in an `if`, where errexit is off, hence the explicit
# `|| return 1`s.
start_all() {
  log "starting etcd on 127.0.0.1:$ETCD_CLIENT_PORT (peer $ETCD_PEER_PORT, data $ETCD_DATA_DIR)"
  start_etcd || return 1
  wait_for etcd "$etcd_pidf" "$etcd_log" etcd_healthy || return 1
  log "starting kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
  start_apiserver || return 1
  wait_for kube-apiserver "$apiserver_pidf" "$apiserver_log" apiserver_ready || return 1
  log "control plane ready at https://127.0.0.1:$APISERVER_PORT"
}

# free_ports N: N distinct free loopback ports. Picked at random below the
# kernel's ephemeral range (so an outgoing connection is unlikely to grab one
# before we bind it) and checked by binding without SO_REUSEADDR, which also
# rejects ports in TIME_WAIT. All N stay bound until all are found, so they
# are distinct.
free_ports() {
  python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        eph_lo, eph_hi = (int(x) for x in f.read().split())
except OSError:
    eph_lo, eph_hi = 32768, 60999
candidates = [p for p in range(10000, 65536) if not eph_lo <= p <= eph_hi]
random.shuffle(candidates)
held = []
for port in candidates:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
    if len(held) == n:
        break
while len(held) < n:  # ephemeral range covers everything: let the kernel pick
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
EOF
}

# ------------------------------------------------------------------ files

# sign NAME SUBJECT EXTENSIONS: key + certificate signed by the CA, run in
# the pki folder being built.
sign() {
  openssl req -new -noenc -newkey rsa:2048 -sha256 -config openssl.cnf \
    -subj "$2" -keyout "$1.key" -out "$1.csr" &&
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 15)" \
      -sha256 -days 3650 -extfile openssl.cnf -extensions "$3" -out "$1.crt" &&
    rm -f "$1.csr"
}

# ensure_pki: CA, apiserver serving cert, admin client cert and the
# ServiceAccount signing key pair. Kept across up/down (regenerated only when
# missing or expiring), so restart keeps tokens and kubeconfigs valid.
ensure_pki() {
  local f ok=1
  for f in ca.crt ca.key apiserver.crt apiserver.key admin.crt admin.key sa.key sa.pub; do
    [[ -s $pki/$f ]] || ok=0
  done
  if ((ok)); then
    for f in ca apiserver admin; do
      openssl x509 -checkend 86400 -noout -in "$pki/$f.crt" >/dev/null 2>&1 || ok=0
    done
  fi
  ((ok)) && return 0

  log "generating certificates in $pki"
  local tmp="$pki.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # Our own config, so no extensions from the system openssl.cnf sneak in.
  cat >"$tmp/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, IP:10.0.0.1
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF
  # Chained with && because errexit does not apply inside a `( ) || ...`.
  (
    cd "$tmp" &&
      umask 077 && # private keys readable by us only
      openssl req -x509 -new -noenc -newkey rsa:2048 -sha256 -days 3650 -config openssl.cnf \
        -extensions ca -subj "/CN=configpush-local-ca" -keyout ca.key -out ca.crt &&
      sign apiserver "/CN=kube-apiserver" server &&
      sign admin "/O=system:masters/CN=admin" client &&
      openssl genrsa -out sa.key 2048 &&
      openssl rsa -in sa.key -pubout -out sa.pub &&
      chmod 644 ./*.crt sa.pub &&
      openssl verify -CAfile ca.crt apiserver.crt admin.crt
  ) >"$tmp/openssl.log" 2>&1 || { cat "$tmp/openssl.log" >&2; die "certificate generation failed"; }
  rm -f "$tmp/openssl.log"
  rm -rf "$pki"
  mv "$tmp" "$pki"
}

write_kubeconfig() {
  # Certificates embedded, so a copy of the file works anywhere.
  local b64="base64 -w0"
  cat >"$kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: configpush-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $($b64 <"$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $($b64 <"$pki/admin.crt")
    client-key-data: $($b64 <"$pki/admin.key")
contexts:
- name: configpush-local
  context:
    cluster: configpush-local
    user: admin
    namespace: default
current-context: configpush-local
EOF
  chmod 600 "$kubeconfig.tmp"
  mv "$kubeconfig.tmp" "$kubeconfig"
}

# write_env: written BEFORE the processes start, so down/restart can always
# find the ports and the etcd data dir of whatever is running.
write_env() {
  {
    echo "# written by hack/cluster.sh; KEY=value lines (use set -a; . env; set +a to export)"
    printf '%s=%q\n' \
      CLUSTER_DIR "$CLUSTER_DIR" \
      KUBECONFIG "$kubeconfig" \
      AUDIT_LOG "$audit_log" \
      APISERVER_URL "https://127.0.0.1:$APISERVER_PORT" \
      APISERVER_PORT "$APISERVER_PORT" \
      CA_CERT "$pki/ca.crt" \
      ETCD_URL "http://127.0.0.1:$ETCD_CLIENT_PORT" \
      ETCD_CLIENT_PORT "$ETCD_CLIENT_PORT" \
      ETCD_PEER_PORT "$ETCD_PEER_PORT" \
      ETCD_DATA_DIR "$ETCD_DATA_DIR" \
      BIN_DIR "$bin_dir"
  } >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
}

load_env() {
  [[ -f $env_file ]] || return 1
  local line key value
  # Parsed rather than sourced so that only the keys we know are read.
  while IFS= read -r line; do
    [[ $line == \#* || $line != *=* ]] && continue
    key=${line%%=*} value=${line#*=}
    case $key in
      APISERVER_PORT | ETCD_CLIENT_PORT | ETCD_PEER_PORT | ETCD_DATA_DIR)
        # Values were written with %q; only paths with odd characters need it.
        if [[ $value == *[\\\'\"\$]* ]]; then value=$(eval "printf '%s' $value"); fi
        printf -v "$key" '%s' "$value"
        ;;
    esac
  done <"$env_file"
  [[ -n $APISERVER_PORT && -n $ETCD_CLIENT_PORT && -n $ETCD_PEER_PORT && -n $ETCD_DATA_DIR ]]
}

is_running() {
  load_env || return 1
  pid_from "$etcd_pidf" etcd >/dev/null || return 1
  pid_from "$apiserver_pidf" kube-apiserver >/dev/null || return 1
  [[ -s $kubeconfig ]] && apiserver_ready
}

print_result() {
  echo "$kubeconfig"
  echo "export KUBECONFIG=$kubeconfig"
}

# lock: serialise up/down/restart on one CLUSTER_DIR (e.g. parallel test
# workers calling `up`). Released when the script exits.
lock() {
  mkdir -p "$CLUSTER_DIR"
  exec 9>"$CLUSTER_DIR/.lock"
  flock -w 600 9 || die "timed out waiting for $CLUSTER_DIR/.lock"
}

get_binaries() {
  # A separate lock around the build: two concurrent first builds would
  # share build.sh's .partial folder.
  mkdir -p "$root/.cache"
  bin_dir=$(flock -w 3600 "$root/.cache/build.lock" bash "$here/controlplane/build.sh") \
    || die "could not get control-plane binaries"
  [[ -x $bin_dir/etcd && -x $bin_dir/kube-apiserver ]] || die "no etcd/kube-apiserver in '$bin_dir'"
}

# If this invocation is interrupted or fails while starting processes, do not
# leave them behind: after a failed `up` remove everything; after a failed
# `restart` stop the processes but keep the data and env so it can be retried
# (or cleaned up with `down`).
on_fail=""
on_exit() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if ((rc != 0)); then
    case $on_fail in
      teardown) log "start failed; cleaning up"; teardown || true ;;
      stop) log "restart failed; stopping processes"; stop_procs || true ;;
    esac
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --------------------------------------------------------------- commands

cmd_up() {
  local attempt started=$SECONDS
  get_binaries
  lock
  if is_running; then
    log "reusing running control plane at https://127.0.0.1:$APISERVER_PORT"
    print_result
    return 0
  fi
  # Whatever is left (half-started, crashed, stale files) goes first.
  load_env || true
  teardown
  ensure_pki
  [[ -f $audit_policy ]] || die "missing $audit_policy"
  on_fail=teardown
  for attempt in 1 2 3; do
    read -r ETCD_CLIENT_PORT ETCD_PEER_PORT APISERVER_PORT < <(free_ports 3) || true
    [[ -n $APISERVER_PORT ]] || die "could not find free ports"
    ETCD_DATA_DIR=$(mktemp -d "${etcd_data_prefix}XXXXXX")
    write_env
    : >"$etcd_log"
    : >"$apiserver_log"
    if start_all; then break; fi
    # A port taken between probing and binding is worth another try with new
    # ports; anything else is a real error.
    if ((attempt < 3)) && grep -qi 'address already in use' "$etcd_log" "$apiserver_log"; then
      log "port clash; retrying with other ports"
      teardown
      continue
    fi
    die "control plane failed to start (logs: $etcd_log, $apiserver_log)"
  done
  write_kubeconfig
  on_fail=""
  log "up in $((SECONDS - started))s"
  print_result
}

cmd_down() {
  [[ -d $CLUSTER_DIR ]] || return 0
  lock
  load_env || true
  teardown
  log "stopped (logs and pki kept in $CLUSTER_DIR)"
}

cmd_restart() {
  local started=$SECONDS
  get_binaries
  lock
  load_env || die "no cluster state in $CLUSTER_DIR; run '$0 up' first"
  [[ -d $ETCD_DATA_DIR ]] || die "etcd data dir $ETCD_DATA_DIR is gone; run '$0 down' and '$0 up'"
  stop_procs
  ensure_pki
  on_fail=stop
  log "--- restart $(date -u +%FT%TZ) ---" 2>>"$etcd_log"
  log "--- restart $(date -u +%FT%TZ) ---" 2>>"$apiserver_log"
  start_all || die "control plane failed to restart (logs: $etcd_log, $apiserver_log)"
  write_kubeconfig
  on_fail=""
  log "restarted in $((SECONDS - started))s"
  print_result
}

cmd_status() {
  if is_running; then
    echo "running https://127.0.0.1:$APISERVER_PORT"
  else
    log "not running"
    return 1
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  restart) cmd_restart ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 up|down|restart|status" >&2
    exit 2
    ;;
esac
