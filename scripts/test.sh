#!/usr/bin/env bash
# The whole test suite: installs test dependencies (cached), then runs every Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# A real kube-apiserver 1.20.2 + etcd, started once and shared by every test process
# (crates/testenv reads KUBESCAPE_TEST_ENV_DIR); reuse one given by the caller.
scripts/k8s-testenv.sh install
if [ -z "${KUBESCAPE_TEST_ENV_DIR:-}" ]; then
  KUBESCAPE_TEST_ENV_DIR=$(mktemp -d -t kubescape-testenv.XXXXXX)
  export KUBESCAPE_TEST_ENV_DIR
  trap 'scripts/k8s-testenv.sh stop "$KUBESCAPE_TEST_ENV_DIR" --clean' EXIT
  scripts/k8s-testenv.sh start "$KUBESCAPE_TEST_ENV_DIR" --watch-pid $$
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
