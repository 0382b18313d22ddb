#!/usr/bin/env bash
# A real Kubernetes API server (kube-apiserver 1.20.2 + etcd) for tests, on one machine.
#
#   scripts/k8s-testenv.sh install            apt packages + build kube-apiserver once (cached)
#   scripts/k8s-testenv.sh start DIR [--watch-pid PID]
#                                             certs, tokens, etcd + kube-apiserver on free ports,
#                                             DIR/kubeconfig, DIR/kubeconfig-limited, DIR/env, DIR/pids
#   scripts/k8s-testenv.sh stop DIR [--clean] SIGTERM then SIGKILL; --clean also removes DIR
#   scripts/k8s-testenv.sh status DIR         exit 0 when the cluster in DIR is running and ready
#
# No kubelet, scheduler or controller-manager: objects are stored and served, pods never run,
# namespaces are never finalized after deletion and no default ServiceAccounts are created.
# The ServiceAccount admission plugin is therefore disabled by default, so that Pods can be
# created (KUBESCAPE_TESTENV_DISABLE_ADMISSION_PLUGINS= keeps it, then Pods are rejected).
# Every start makes a fresh cluster: new certificates, tokens and ports, empty etcd.
#
# --watch-pid PID: a detached watcher stops the cluster (and removes DIR) once PID has exited,
# so that a test process that crashes or is killed does not leak a cluster.
#
# Environment: KUBESCAPE_RS_CACHE (default ~/.cache/kubescape-rs),
#              KUBESCAPE_TESTENV_APISERVER_FLAGS (extra kube-apiserver flags, word-split),
#              KUBESCAPE_TESTENV_DISABLE_ADMISSION_PLUGINS (default ServiceAccount),
#              KUBESCAPE_TESTENV_READY_TIMEOUT (seconds, default 60).
set -euo pipefail

K8S_VERSION=1.20.2
K8S_DEB_VERSION=1.20.5+really1.20.2
CACHE="${KUBESCAPE_RS_CACHE:-$HOME/.cache/kubescape-rs}"
BIN_DIR="$CACHE/bin"
# Build revision of our kube-apiserver binary (keys the cache): r2 = vendored reflect2 fixed
# for the Go 1.18+ runtime (see fix_reflect2).
APISERVER_BUILD=r2
APISERVER_BIN="$BIN_DIR/kube-apiserver-$K8S_VERSION-$APISERVER_BUILD"
SRC_DIR="$CACHE/k8s-src"
READY_TIMEOUT="${KUBESCAPE_TESTENV_READY_TIMEOUT:-60}"
SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

log() { printf '[k8s-testenv] %s\n' "$*" >&2; }
die() { printf '[k8s-testenv] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,9p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ------------------------------------------------------------------------------------------------
# install
# ------------------------------------------------------------------------------------------------

# apt-get install the given packages when any of them is missing (apt-get update once if needed).
apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    log "apt-get install failed; running apt-get update once and retrying"
    apt-get update -q >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
      || die "apt-get install ${missing[*]} failed"
  fi
}

# Make sure apt knows the bookworm main source packages (a deb-src entry), then apt-get update.
ensure_deb_src() {
  if apt-cache showsrc kubernetes 2>/dev/null | grep -q "^Version: $K8S_DEB_VERSION"; then
    return 0
  fi
  local has_src=0
  if grep -rqsE '^[[:space:]]*deb-src[[:space:]].*bookworm[[:space:]].*main' \
       /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null; then
    has_src=1
  fi
  if grep -qsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources 2>/dev/null; then
    has_src=1
  fi
  if [ $has_src -eq 0 ]; then
    local f=/etc/apt/sources.list.d/kubescape-rs-deb-src.sources
    log "enabling Debian source packages for bookworm main in $f"
    cat >"$f" <<'EOF'
# Added by kubescape-rs scripts/k8s-testenv.sh: source packages (apt-get source kubernetes).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  log "apt-get update (for source package lists)"
  apt-get update -q >&2 || die "apt-get update failed"
  apt-cache showsrc kubernetes 2>/dev/null | grep -q "^Version: $K8S_DEB_VERSION" \
    || die "source package kubernetes $K8S_DEB_VERSION not found after enabling deb-src (see apt-cache showsrc kubernetes)"
}

cmd_install() {
  [ "$(id -u)" -eq 0 ] || log "warning: not root; apt-get steps will fail if packages are missing"
  # Needed at run time (start): etcd, openssl, curl; kubectl is preinstalled on this machine kind.
  # iproute2: the storage end-to-end test creates its own veth pair and network namespace.
  apt_ensure etcd-server openssl curl iproute2
  command -v kubectl >/dev/null || log "warning: kubectl not found on PATH (tests need it)"

  if [ -x "$APISERVER_BIN" ]; then
    log "kube-apiserver $K8S_VERSION already installed: $APISERVER_BIN"
    return 0
  fi

  # One installer at a time (parallel test processes may all find the binary missing).
  mkdir -p "$SRC_DIR" "$BIN_DIR"
  exec 9>"$CACHE/.install.lock"
  if ! flock -n 9; then
    log "another install is running; waiting for $CACHE/.install.lock"
    flock 9
  fi
  if [ -x "$APISERVER_BIN" ]; then
    log "kube-apiserver $K8S_VERSION installed by a concurrent run: $APISERVER_BIN"
    return 0
  fi

  local t0=$SECONDS
  apt_ensure golang-go rsync dpkg-dev make
  cd "$SRC_DIR"
  local dsc
  dsc=$(find . -maxdepth 1 -name "kubernetes_$K8S_DEB_VERSION-*.dsc" -printf '%f\n' | head -n1)
  if [ -z "$dsc" ]; then
    ensure_deb_src
    log "apt-get source kubernetes=$K8S_DEB_VERSION into $SRC_DIR (download only)"
    local full
    full=$(apt-cache showsrc kubernetes | awk -v v="$K8S_DEB_VERSION" '$1=="Version:" && index($2, v)==1 {print $2; exit}')
    apt-get source -q --download-only -o APT::Sandbox::User=root "kubernetes=$full" >&2 || die "apt-get source kubernetes=$full failed"
    dsc=$(find . -maxdepth 1 -name "kubernetes_$K8S_DEB_VERSION-*.dsc" -printf '%f\n' | head -n1)
    [ -n "$dsc" ] || die "apt-get source did not leave a .dsc in $SRC_DIR"
  else
    log "using cached source package $SRC_DIR/$dsc"
  fi

  local tree="$SRC_DIR/kubernetes-$K8S_DEB_VERSION"
  rm -rf "$tree"
  log "unpacking $dsc"
  dpkg-source --no-check -x "$dsc" "$tree" >&2 || die "dpkg-source -x $SRC_DIR/$dsc failed"

  fix_reflect2 "$tree"
  log "building kube-apiserver (make WHAT=cmd/kube-apiserver; ~5 min on 2 cores; log: $SRC_DIR/build.log)"
  local gohome
  gohome=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now: the local is gone when the trap runs
  trap "chmod -R u+w '$gohome' 2>/dev/null || true; rm -rf '$gohome'" EXIT
  (
    cd "$tree"
    mkdir -p .go/src/k8s.io
    ln -sfn ../../.. .go/src/k8s.io/kubernetes
    GOPATH="$PWD/.go" CGO_ENABLED=0 GOPROXY=off GOFLAGS='' HOME="$gohome" make WHAT=cmd/kube-apiserver
  ) >"$SRC_DIR/build.log" 2>&1 || {
    tail -n 40 "$SRC_DIR/build.log" >&2
    rm -rf "$gohome"
    die "building kube-apiserver failed; full log: $SRC_DIR/build.log (tree kept: $tree)"
  }
  local out="$tree/_output/bin/kube-apiserver"
  [ -x "$out" ] || die "build finished but $out is missing; see $SRC_DIR/build.log"
  "$out" --version >&2 || die "$out does not run"
  install -m 0755 "$out" "$APISERVER_BIN.tmp"
  mv -f "$APISERVER_BIN.tmp" "$APISERVER_BIN"
  # The unpacked tree with its build output (_output, Go build cache) grows to ~1.6 GB; the
  # tarballs kept in $SRC_DIR (34 MB) are enough for a rebuild.
  log "removing build tree $tree and Go home $gohome"
  chmod -R u+w "$gohome" 2>/dev/null || true
  rm -rf "$tree" "$gohome"
  log "installed $APISERVER_BIN in $((SECONDS - t0)) s"
}

# Kubernetes 1.20 vendors github.com/modern-go/reflect2 1.0.1, which links against the Go
# runtime's pre-1.18 mapiterinit (it returned an iterator; since 1.18 the caller passes one in,
# and the iterator struct must have its full size). Built with Debian's Go 1.19 unchanged, every
# JSON decode of a custom resource (json-iterator over maps) crashes kube-apiserver with
# "unexpected fault address" in mapiternext. Rewrite the two declarations to the 1.18 contract.
fix_reflect2() {
  local dir="$1/vendor/github.com/modern-go/reflect2"
  [ -f "$dir/unsafe_link.go" ] || die "vendored reflect2 not found in $1"
  log "adapting vendored reflect2 to the Go 1.18+ map iterator contract"
  python3 - "$dir" <<'PY' || die "could not adapt reflect2 in $dir"
import pathlib, sys
d = pathlib.Path(sys.argv[1])
link = d / "unsafe_link.go"
s = link.read_text()
old_decl = "func mapiterinit(rtype unsafe.Pointer, m unsafe.Pointer) *hiter"
old_struct = """type hiter struct {
	key   unsafe.Pointer // Must be in first position.  Write nil to indicate iteration end (see cmd/internal/gc/range.go).
	value unsafe.Pointer // Must be in second position (see cmd/internal/gc/range.go).
	// rest fields are ignored
}"""
new_struct = """type hiter struct {
	key         unsafe.Pointer
	value       unsafe.Pointer
	t           unsafe.Pointer
	h           unsafe.Pointer
	buckets     unsafe.Pointer
	bptr        unsafe.Pointer
	overflow    *[]unsafe.Pointer
	oldoverflow *[]unsafe.Pointer
	startBucket uintptr
	offset      uint8
	wrapped     bool
	B           uint8
	i           uint8
	bucket      uintptr
	checkBucket uintptr
}"""
assert s.count(old_decl) == 1 and s.count(old_struct) == 1, "unexpected unsafe_link.go"
s = s.replace(old_decl, "func mapiterinit(rtype unsafe.Pointer, m unsafe.Pointer, it *hiter)")
link.write_text(s.replace(old_struct, new_struct))
m = d / "unsafe_map.go"
s = m.read_text()
old_call = "		hiter:      mapiterinit(type2.rtype, *(*unsafe.Pointer)(obj)),"
assert s.count(old_call) == 1, "unexpected unsafe_map.go"
s = s.replace("func (type2 *UnsafeMapType) UnsafeIterate(obj unsafe.Pointer) MapIterator {\n\treturn &UnsafeMapIterator{",
              "func (type2 *UnsafeMapType) UnsafeIterate(obj unsafe.Pointer) MapIterator {\n\tit := new(hiter)\n\tmapiterinit(type2.rtype, *(*unsafe.Pointer)(obj), it)\n\treturn &UnsafeMapIterator{")
assert "it := new(hiter)" in s, "unexpected UnsafeIterate"
m.write_text(s.replace(old_call, "		hiter:      it,"))
PY
}

# ------------------------------------------------------------------------------------------------
# start / stop / status
# ------------------------------------------------------------------------------------------------

# Reads DIR/pids into ETCD_PID / APISERVER_PID / WATCH_PID (empty when absent).
read_pids() {
  local dir=$1
  ETCD_PID='' APISERVER_PID='' WATCH_PID=
  [ -f "$dir/pids" ] || return 0
  local k v
  while IFS='=' read -r k v; do
    case "$k" in
      etcd) ETCD_PID=$v ;;
      kube-apiserver) APISERVER_PID=$v ;;
      watcher) WATCH_PID=$v ;;
    esac
  done <"$dir/pids"
}

# pid_is NAME PID: the process PID is alive and runs NAME (guards against reused pids).
pid_is() {
  local name=$1 pid=$2
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"
}

# Three distinct free TCP ports on 127.0.0.1 (bound at the same time, then released).
free_ports() {
  python3 - <<'EOF'
import socket
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

gen_certs() {
  local d=$1/pki
  mkdir -p "$d"
  (
    cd "$d"
    umask 077
    # CA (ECDSA P-256: fast to generate, accepted by Go and kubectl).
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=kubescape-testenv-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out ca.crt
    # Serving certificate for kube-apiserver.
    openssl ecparam -name prime256v1 -genkey -noout -out apiserver.key
    openssl req -new -key apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr
    cat >apiserver.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1
EOF
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
      -extfile apiserver.ext -out apiserver.crt
    # Service-account signing key pair.
    openssl genrsa -out sa.key 2048
    openssl rsa -in sa.key -pubout -out sa.pub
    # Front-proxy CA and client certificate (aggregated API servers).
    openssl ecparam -name prime256v1 -genkey -noout -out front-proxy-ca.key
    openssl req -x509 -new -key front-proxy-ca.key -sha256 -days 3650 -subj "/CN=front-proxy-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out front-proxy-ca.crt
    openssl ecparam -name prime256v1 -genkey -noout -out front-proxy-client.key
    openssl req -new -key front-proxy-client.key -subj "/CN=front-proxy-client" -out front-proxy-client.csr
    cat >front-proxy-client.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
    openssl x509 -req -in front-proxy-client.csr -CA front-proxy-ca.crt -CAkey front-proxy-ca.key \
      -CAcreateserial -sha256 -days 3650 -extfile front-proxy-client.ext -out front-proxy-client.crt
    rm -f ./*.csr ./*.ext ./*.srl
    chmod 0644 ./*.crt sa.pub
  ) 2>"$1/openssl.log" || die "generating certificates with openssl failed; see $1/openssl.log"
}

write_kubeconfig() {
  local file=$1 server=$2 ca=$3 user=$4 token=$5
  # kubectl itself writes the file, so quoting and base64 are handled for us.
  local kc=(kubectl --kubeconfig "$file")
  "${kc[@]}" config set-cluster kubescape-test --server="$server" --certificate-authority="$ca" \
    --embed-certs=true >/dev/null
  "${kc[@]}" config set-credentials "$user" --token="$token" >/dev/null
  "${kc[@]}" config set-context kubescape-test --cluster=kubescape-test --user="$user" \
    --namespace=default >/dev/null
  "${kc[@]}" config use-context kubescape-test >/dev/null
  chmod 0600 "$file"
}

# start_processes DIR: one attempt on fresh ports; returns 3 on a port clash (caller retries).
start_processes() {
  local dir=$1 ports etcd_port peer_port api_port
  ports=$(free_ports) || die "could not pick free ports (python3 needed)"
  read -r etcd_port peer_port api_port <<<"$ports"
  log "ports: etcd client $etcd_port, etcd peer $peer_port, kube-apiserver $api_port"

  rm -rf "$dir/etcd"
  setsid etcd --name kubescape-test --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "kubescape-test=http://127.0.0.1:$peer_port" \
    --quota-backend-bytes 2147483648 \
    </dev/null >"$dir/etcd.log" 2>&1 &
  local etcd_pid=$!
  printf 'etcd=%s\n' "$etcd_pid" >"$dir/pids"

  # Wait for etcd to serve (up to 20 s).
  local i
  for i in $(seq 1 100); do
    if ! kill -0 "$etcd_pid" 2>/dev/null; then
      grep -q 'address already in use' "$dir/etcd.log" && return 3
      tail -n 30 "$dir/etcd.log" >&2
      die "etcd exited during startup; log: $dir/etcd.log"
    fi
    curl -fsS "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"' && break
    [ "$i" -eq 100 ] && { tail -n 30 "$dir/etcd.log" >&2; die "etcd not healthy after 20 s; log: $dir/etcd.log"; }
    sleep 0.2
  done

  local pki=$dir/pki
  local extra=()
  # shellcheck disable=SC2206  # word splitting of the override is intended
  [ -n "${KUBESCAPE_TESTENV_APISERVER_FLAGS:-}" ] && extra=(${KUBESCAPE_TESTENV_APISERVER_FLAGS})
  local disabled=${KUBESCAPE_TESTENV_DISABLE_ADMISSION_PLUGINS-ServiceAccount}
  [ -n "$disabled" ] && extra+=("--disable-admission-plugins=$disabled")
  setsid "$APISERVER_BIN" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --secure-port="$api_port" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --token-auth-file="$dir/tokens.csv" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --authorization-mode=RBAC \
    --service-cluster-ip-range=10.96.0.0/12 \
    --allow-privileged=true \
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$pki/front-proxy-client.crt" \
    --proxy-client-key-file="$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --profiling=false \
    ${extra[@]+"${extra[@]}"} \
    </dev/null >"$dir/kube-apiserver.log" 2>&1 &
  local api_pid=$!
  printf 'kube-apiserver=%s\n' "$api_pid" >>"$dir/pids"

  local server="https://127.0.0.1:$api_port" deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    if ! kill -0 "$api_pid" 2>/dev/null; then
      if grep -q 'address already in use' "$dir/kube-apiserver.log"; then
        stop_pid etcd "$etcd_pid"
        return 3
      fi
      tail -n 40 "$dir/kube-apiserver.log" >&2
      stop_pid etcd "$etcd_pid"
      die "kube-apiserver exited during startup; log: $dir/kube-apiserver.log"
    fi
    [ "$(curl -s --cacert "$pki/ca.crt" "$server/readyz" 2>/dev/null)" = ok ] && break
    if [ $SECONDS -ge $deadline ]; then
      log "last /readyz?verbose answer:"
      curl -s --cacert "$pki/ca.crt" "$server/readyz?verbose" 2>&1 | grep -v '\] ok$' | tail -n 20 >&2 || true
      log "kube-apiserver log tail ($dir/kube-apiserver.log):"
      tail -n 40 "$dir/kube-apiserver.log" >&2
      stop_pid kube-apiserver "$api_pid"
      stop_pid etcd "$etcd_pid"
      die "kube-apiserver not ready after $READY_TIMEOUT s; logs: $dir/kube-apiserver.log, $dir/etcd.log"
    fi
    sleep 0.25
  done
  API_SERVER=$server
  ETCD_ENDPOINT="http://127.0.0.1:$etcd_port"
}

cmd_start() {
  local dir="" watch_pid=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --watch-pid) watch_pid=${2:?--watch-pid needs a PID}; shift 2 ;;
      -*) die "start: unknown option $1" ;;
      *) [ -z "$dir" ] || die "start: only one DIR"; dir=$1; shift ;;
    esac
  done
  [ -n "$dir" ] || usage
  [ -x "$APISERVER_BIN" ] || die "kube-apiserver $K8S_VERSION not installed ($APISERVER_BIN); run: $SCRIPT_PATH install"
  command -v etcd >/dev/null || die "etcd not found; run: $SCRIPT_PATH install"
  command -v kubectl >/dev/null || die "kubectl not found on PATH"
  for c in openssl curl python3 setsid; do command -v $c >/dev/null || die "$c not found on PATH"; done

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  read_pids "$dir"
  if pid_is kube-apiserver "$APISERVER_PID" || pid_is etcd "$ETCD_PID"; then
    die "a cluster is already running in $dir (pids: etcd=$ETCD_PID kube-apiserver=$APISERVER_PID); run: $SCRIPT_PATH stop $dir"
  fi
  local t0=$SECONDS
  touch "$dir/.kubescape-testenv"
  rm -f "$dir/pids" "$dir/env" "$dir/kubeconfig" "$dir/kubeconfig-limited"

  log "generating certificates in $dir/pki"
  gen_certs "$dir"
  local admin_token limited_token
  admin_token=$(openssl rand -hex 24)
  limited_token=$(openssl rand -hex 24)
  (umask 077
   printf '%s\n' "$admin_token" >"$dir/admin.token"
   printf '%s\n' "$limited_token" >"$dir/limited.token"
   printf '%s,admin,admin,"system:masters"\n%s,limited,limited\n' "$admin_token" "$limited_token" >"$dir/tokens.csv")

  local attempt rc
  for attempt in 1 2 3; do
    rc=0
    start_processes "$dir" || rc=$?
    [ $rc -eq 0 ] && break
    [ $rc -eq 3 ] || exit $rc
    log "port clash (attempt $attempt), retrying on new ports"
    [ $attempt -eq 3 ] && die "could not start on free ports after 3 attempts; logs in $dir"
  done

  write_kubeconfig "$dir/kubeconfig" "$API_SERVER" "$dir/pki/ca.crt" admin "$admin_token"
  write_kubeconfig "$dir/kubeconfig-limited" "$API_SERVER" "$dir/pki/ca.crt" limited "$limited_token"
  cat >"$dir/env" <<EOF
# kube-apiserver $K8S_VERSION test cluster started by scripts/k8s-testenv.sh; source this file.
export KUBESCAPE_TEST_ENV_DIR='$dir'
export KUBECONFIG='$dir/kubeconfig'
export KUBESCAPE_TEST_KUBECONFIG_LIMITED='$dir/kubeconfig-limited'
export KUBESCAPE_TEST_APISERVER='$API_SERVER'
export KUBESCAPE_TEST_ETCD='$ETCD_ENDPOINT'
export KUBESCAPE_TEST_CA='$dir/pki/ca.crt'
export KUBESCAPE_TEST_ADMIN_TOKEN_FILE='$dir/admin.token'
export KUBESCAPE_TEST_LIMITED_TOKEN_FILE='$dir/limited.token'
export KUBESCAPE_TEST_FRONT_PROXY_CA='$dir/pki/front-proxy-ca.crt'
export KUBESCAPE_TEST_FRONT_PROXY_CLIENT_CERT='$dir/pki/front-proxy-client.crt'
export KUBESCAPE_TEST_FRONT_PROXY_CLIENT_KEY='$dir/pki/front-proxy-client.key'
export KUBESCAPE_TEST_SA_KEY='$dir/pki/sa.key'
export KUBESCAPE_TEST_SA_PUB='$dir/pki/sa.pub'
EOF

  if [ -n "$watch_pid" ]; then
    start_watcher "$dir" "$watch_pid"
  fi
  log "ready in $((SECONDS - t0)) s: $API_SERVER (source $dir/env; logs: $dir/kube-apiserver.log, $dir/etcd.log)"
}

# A detached watcher that stops the cluster and removes DIR once process PID has gone.
start_watcher() {
  local dir=$1 pid=$2 starttime
  starttime=$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null) || die "--watch-pid $pid: no such process"
  # shellcheck disable=SC2016  # expanded by the watcher's own shell
  setsid bash -c '
    pid=$1 st=$2 dir=$3 script=$4
    while [ "$(awk "{print \$22}" /proc/$pid/stat 2>/dev/null)" = "$st" ]; do sleep 1; done
    exec "$script" stop "$dir" --clean
  ' k8s-testenv-watcher "$pid" "$starttime" "$dir" "$SCRIPT_PATH" </dev/null >>"$dir/watcher.log" 2>&1 &
  printf 'watcher=%s\n' "$!" >>"$dir/pids"
  log "watcher $! stops this cluster when process $pid exits"
}

# stop_pid NAME PID: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 i
  pid_is "$name" "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    pid_is "$name" "$pid" || { log "stopped $name ($pid)"; return 0; }
    sleep 0.2
  done
  log "$name ($pid) ignored SIGTERM for 10 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 25); do pid_is "$name" "$pid" || return 0; sleep 0.2; done
  log "warning: $name ($pid) still alive after SIGKILL"
}

cmd_stop() {
  local dir="" clean=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --clean) clean=1; shift ;;
      -*) die "stop: unknown option $1" ;;
      *) [ -z "$dir" ] || die "stop: only one DIR"; dir=$1; shift ;;
    esac
  done
  [ -n "$dir" ] || usage
  [ -d "$dir" ] || { log "$dir does not exist; nothing to stop"; return 0; }
  read_pids "$dir"
  stop_pid kube-apiserver "$APISERVER_PID"
  stop_pid etcd "$ETCD_PID"
  # The watcher may be the caller itself; only kill it when it is another process.
  if [ -n "$WATCH_PID" ] && [ "$WATCH_PID" != "$$" ] && [ "$WATCH_PID" != "$PPID" ] \
     && pid_is k8s-testenv-watcher "$WATCH_PID"; then
    kill -TERM "$WATCH_PID" 2>/dev/null || true
  fi
  rm -f "$dir/pids"
  if [ $clean -eq 1 ]; then
    if [ -f "$dir/.kubescape-testenv" ]; then
      rm -rf "$dir"
      log "removed $dir"
    else
      log "not removing $dir: it was not created by this script (no .kubescape-testenv marker)"
    fi
  fi
}

cmd_status() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  read_pids "$dir"
  local ok=0
  if pid_is etcd "$ETCD_PID"; then echo "etcd: running (pid $ETCD_PID)"; else echo "etcd: not running"; ok=1; fi
  if pid_is kube-apiserver "$APISERVER_PID"; then
    echo "kube-apiserver: running (pid $APISERVER_PID)"
  else
    echo "kube-apiserver: not running"; ok=1
  fi
  if [ -f "$dir/env" ]; then
    local server
    server=$(sed -n "s/^export KUBESCAPE_TEST_APISERVER='\(.*\)'$/\1/p" "$dir/env")
    if [ "$(curl -s --cacert "$dir/pki/ca.crt" "$server/readyz" 2>/dev/null)" = ok ]; then
      echo "readyz: ok ($server)"
    else
      echo "readyz: failing ($server)"; ok=1
    fi
    echo "kubeconfig: $dir/kubeconfig"
  fi
  return $ok
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) usage ;;
esac
