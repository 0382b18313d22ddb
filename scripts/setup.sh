#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine of the project's kind.
# Idempotent; expensive artefacts are cached under ~/.cache/kubescape-rs/.
set -euo pipefail
CACHE="${KUBESCAPE_RS_CACHE:-$HOME/.cache/kubescape-rs}"
mkdir -p "$CACHE"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- Python tools (validators, peers) -------------------------------------------------------------
PY_VENV="$CACHE/venv"
if [ ! -x "$PY_VENV/bin/python" ]; then
  log "creating Python venv at $PY_VENV"
  python3 -m venv "$PY_VENV"
fi
PY_PACKAGES=(check-jsonschema)
missing=()
for p in "${PY_PACKAGES[@]}"; do
  "$PY_VENV/bin/python" -m pip show -q "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Python packages: ${missing[*]}"
  "$PY_VENV/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
fi

log "done"
