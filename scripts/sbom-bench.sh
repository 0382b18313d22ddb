#!/usr/bin/env bash
# Image SBOM benchmark: kubescape-rs vs Trivy on the kit's benchmark images, same run.
# Usage: scripts/sbom-bench.sh [RUNS]   (needs target/release/kubescape and scripts/setup.sh)
# Prints one line per run: image, tool, wall seconds, peak RSS KiB, packages found.
set -euo pipefail
RUNS="${1:-3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${KUBESCAPE_RS_CACHE:-$HOME/.cache/kubescape-rs}"
KS="${KUBESCAPE:-$HERE/../target/release/kubescape}"
TRIVY="$CACHE/bin/trivy"
KIT="$("$HERE/image-kit.sh" bench)"
PY="$CACHE/venv/bin/python"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Trivy needs a Java index DB to analyse jars offline: an empty one with trivy-java-db's schema.
mkdir -p "$TMP/java-db"
"$PY" - "$TMP/java-db/trivy-java.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript('''CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);
CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT, foreign key (artifact_id) references artifacts(id));
CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id);
CREATE INDEX indices_artifact_idx ON indices(artifact_id);
CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);''')
c.commit()
PY
echo '{"Version":1,"NextUpdate":"2099-01-01T00:00:00Z","UpdatedAt":"2025-01-01T00:00:00Z","DownloadedAt":"2025-01-01T00:00:00Z"}' >"$TMP/java-db/metadata.json"

count() { "$PY" -c 'import json,sys; print(len([c for c in json.load(open(sys.argv[1]))["components"] if c.get("purl")]))' "$1"; }

printf '%-26s %-14s %8s %12s %9s\n' input tool wall_s peak_rss_kib packages
run_ks() { # label input
  /usr/bin/time -o "$TMP/t" -f '%e %M' "$KS" sbom "$2" -f cyclonedx-json -o "$TMP/ks.json" 2>/dev/null
  read -r wall rss <"$TMP/t"
  printf '%-26s %-14s %8s %12s %9s\n' "$1" "kubescape-rs" "$wall" "$rss" "$(count "$TMP/ks.json")"
}
run_trivy() { # label input
  # a fresh Trivy cache each run, so that its layer cache does not skip the work
  rm -rf "$TMP/tc" && mkdir -p "$TMP/tc" && cp -r "$TMP/java-db" "$TMP/tc/"
  /usr/bin/time -o "$TMP/t" -f '%e %M' "$TRIVY" image --quiet --cache-dir "$TMP/tc" --input "$2" \
    --format cyclonedx --offline-scan --skip-db-update --skip-java-db-update -o "$TMP/trivy.json"
  read -r wall rss <"$TMP/t"
  printf '%-26s %-14s %8s %12s %9s\n' "$1" "trivy 0.59.1" "$wall" "$rss" "$(count "$TMP/trivy.json")"
}
for img in debian-big big; do
  for run in $(seq "$RUNS"); do
    run_ks "$img docker-archive" "$KIT/$img.tar"
    run_trivy "$img docker-archive" "$KIT/$img.tar"
    run_ks "$img oci-dir (gzip)" "$KIT/$img.oci"
    run_trivy "$img oci-dir (gzip)" "$KIT/$img.oci"
  done
done
