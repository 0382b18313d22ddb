#!/usr/bin/env bash
# Test image kit for crates/image and crates/sbom: builds small container images from real packages
# (debootstrap, pip, npm, go, Debian-packaged jars) once, and caches them under
# ${KUBESCAPE_RS_CACHE:-~/.cache/kubescape-rs}/images/<KIT_VERSION>/.
#
# Usage: scripts/image-kit.sh            build the fixtures (idempotent), print the fixture dir
#        scripts/image-kit.sh bench      also build the benchmark images (large, not for tests)
#
# Output per image NAME: NAME.oci/ (OCI layout dir), NAME.tar (docker-archive made by skopeo),
# NAME.oci.tar (OCI layout as a tar). Tools: docker-registry, skopeo, debootstrap, golang-go,
# apache2-utils (htpasswd) are apt-installed when missing.
set -euo pipefail
KIT_VERSION=3
CACHE="${KUBESCAPE_RS_CACHE:-$HOME/.cache/kubescape-rs}"
OUT="$CACHE/images/v$KIT_VERSION"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '[image-kit] %s\n' "$*" >&2; }

# one builder at a time (test processes call this concurrently); the lock also covers apt-get
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v go >/dev/null || need+=(golang-go)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v zstd >/dev/null || need+=(zstd)
command -v npm >/dev/null || need+=(npm)
command -v rpmbuild >/dev/null || need+=(rpm)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2 || {
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
  }
fi

WORK="$OUT/work"
mkdir -p "$WORK"

# --- layer: Debian bookworm minbase root filesystem (real .deb packages) --------------------------
if [ ! -f "$WORK/debian.tar" ]; then
  log "debootstrap --variant=minbase bookworm (a few minutes)"
  rm -rf "$WORK/debian-root"
  debootstrap --variant=minbase bookworm "$WORK/debian-root" http://deb.debian.org/debian >&2
  rm -rf "$WORK/debian-root/var/cache/apt/archives/"*.deb "$WORK/debian-root/var/lib/apt/lists/"*
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/debian-root" -cf "$WORK/debian.tar.tmp" .
  mv "$WORK/debian.tar.tmp" "$WORK/debian.tar"
  rm -rf "$WORK/debian-root"
fi

# --- layer: Python packages (pip install --target of pinned versions) ----------------------------
if [ ! -f "$WORK/python.tar" ]; then
  log "pip install --target (pinned)"
  rm -rf "$WORK/py"
  PY=python3
  [ -x "$CACHE/venv/bin/python" ] && PY="$CACHE/venv/bin/python"
  "$PY" -m pip install -q --disable-pip-version-check --no-compile --only-binary=:all: \
    --target "$WORK/py/usr/local/lib/python3.11/site-packages" \
    requests==2.31.0 urllib3==2.0.7 idna==3.6 certifi==2023.11.17 charset-normalizer==3.3.2 six==1.16.0 >&2
  rm -rf "$WORK/py/usr/local/lib/python3.11/site-packages/bin"
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/py" -cf "$WORK/python.tar" .
  rm -rf "$WORK/py"
fi

# --- layer: npm packages (npm install of pinned versions) -----------------------------------------
if [ ! -f "$WORK/npm.tar" ]; then
  log "npm install (pinned)"
  rm -rf "$WORK/npm"
  mkdir -p "$WORK/npm/app"
  cat >"$WORK/npm/app/package.json" <<'EOF'
{"name": "kit-app", "version": "1.0.0", "private": true,
 "dependencies": {"lodash": "4.17.21", "debug": "4.3.4", "express": "4.18.2"}}
EOF
  (cd "$WORK/npm/app" && HOME="$WORK/npm-home" npm install --no-audit --no-fund --ignore-scripts >&2)
  rm -rf "$WORK/npm-home"
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/npm" -cf "$WORK/npm.tar" .
  rm -rf "$WORK/npm"
fi

# --- layer: a Go binary with module build info (dependency vendored from Debian's golang-*-dev) ---
if [ ! -f "$WORK/go.tar" ]; then
  log "go build"
  rm -rf "$WORK/gosrc" "$WORK/go" "$WORK/debs"
  mkdir -p "$WORK/gosrc" "$WORK/go/usr/local/bin" "$WORK/debs"
  (cd "$WORK/debs" && apt-get download -q golang-github-google-uuid-dev >&2)
  dpkg-deb -x "$WORK"/debs/golang-github-google-uuid-dev_*.deb "$WORK/debs/x"
  mkdir -p "$WORK/gosrc/vendor/github.com/google"
  cp -r "$WORK/debs/x/usr/share/gocode/src/github.com/google/uuid" "$WORK/gosrc/vendor/github.com/google/uuid"
  rm -f "$WORK/gosrc/vendor/github.com/google/uuid/go.mod"
  cat >"$WORK/gosrc/go.mod" <<'EOF'
module example.com/kit/hello

go 1.19

require github.com/google/uuid v1.3.0
EOF
  printf '# github.com/google/uuid v1.3.0\n## explicit\ngithub.com/google/uuid\n' >"$WORK/gosrc/vendor/modules.txt"
  cat >"$WORK/gosrc/main.go" <<'EOF'
package main

import (
	"fmt"

	"github.com/google/uuid"
)

func main() { fmt.Println(uuid.NewString()) }
EOF
  (cd "$WORK/gosrc" && HOME="$WORK/gohome" GOFLAGS=-mod=vendor GOPROXY=off CGO_ENABLED=0 \
    go build -trimpath -o "$WORK/go/usr/local/bin/hello" . >&2)
  rm -rf "$WORK/gohome"
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/go" -cf "$WORK/go.tar" .
  rm -rf "$WORK/gosrc" "$WORK/go"
fi

# --- layer: Java archives (Debian-packaged jars with Maven metadata; one nested in a fat jar) -------
if [ ! -f "$WORK/java.tar" ]; then
  log "jars"
  rm -rf "$WORK/java" "$WORK/debs"
  mkdir -p "$WORK/java/opt/app/lib" "$WORK/debs"
  (cd "$WORK/debs" && apt-get download -q libcommons-lang3-java libcommons-io-java >&2)
  for d in "$WORK"/debs/*.deb; do dpkg-deb -x "$d" "$WORK/debs/x"; done
  cp "$WORK/debs/x/usr/share/java/commons-lang3.jar" "$WORK/java/opt/app/lib/commons-lang3.jar"
  # a "fat" jar holding commons-io in BOOT-INF/lib (Spring Boot layout)
  "${PYTHON:-python3}" - "$WORK/debs/x/usr/share/java/commons-io.jar" "$WORK/java/opt/app/app.jar" <<'PY'
import sys, zipfile
inner, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w") as z:
    z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\n\r\n")
    z.writestr("META-INF/maven/example.kit/kit-app/pom.properties", "groupId=example.kit\nartifactId=kit-app\nversion=0.3.1\n")
    z.write(inner, "BOOT-INF/lib/commons-io-2.11.0.jar", compress_type=zipfile.ZIP_STORED)
PY
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/java" -cf "$WORK/java.tar" .
  rm -rf "$WORK/java" "$WORK/debs"
fi

# --- layer: a Rust binary built with cargo-auditable (dependency list in the .dep-v0 section) -----
if [ ! -f "$WORK/rust.tar" ]; then
  log "cargo auditable build"
  AUD="$CACHE/tools/bin/cargo-auditable"
  if [ ! -x "$AUD" ]; then
    cargo install --quiet --locked --root "$CACHE/tools" cargo-auditable@0.6.6 >&2
  fi
  rm -rf "$WORK/rs" "$WORK/rust"
  mkdir -p "$WORK/rs/src" "$WORK/rust/usr/local/bin"
  cat >"$WORK/rs/Cargo.toml" <<'EOF2'
[package]
name = "kit-rust"
version = "0.2.0"
edition = "2021"

[dependencies]
itoa = "=1.0.11"
hex = "=0.4.3"

[profile.release]
strip = false
EOF2
  cat >"$WORK/rs/src/main.rs" <<'EOF2'
fn main() {
    let mut b = itoa::Buffer::new();
    println!("{} {}", b.format(42), hex::encode("kit"));
}
EOF2
  (cd "$WORK/rs" && PATH="$CACHE/tools/bin:$PATH" CARGO_TARGET_DIR="$WORK/rs/target" \
    cargo auditable build --quiet --release >&2)
  cp "$WORK/rs/target/release/kit-rust" "$WORK/rust/usr/local/bin/kit-rust"
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/rust" -cf "$WORK/rust.tar" .
  rm -rf "$WORK/rs" "$WORK/rust"
fi

# --- layer: one more Debian package installed by dpkg on top of the debootstrap layer ----------
# (the dpkg status of this layer shadows the first one: per-package install layers differ)
if [ ! -f "$WORK/dpkgextra.tar" ]; then
  log "dpkg -i on top of the Debian layer"
  rm -rf "$WORK/dpx"
  mkdir -p "$WORK/dpx/root" "$WORK/dpx/debs"
  tar -xf "$WORK/debian.tar" -C "$WORK/dpx/root" ./var/lib/dpkg
  (cd "$WORK/dpx/debs" && apt-get download -q libcommons-io-java >&2)
  dpkg --root="$WORK/dpx/root" --force-all --no-triggers -i "$WORK"/dpx/debs/*.deb >&2
  rm -f "$WORK/dpx/root/var/lib/dpkg/lock" "$WORK/dpx/root/var/lib/dpkg/lock-frontend" \
    "$WORK/dpx/root/var/lib/dpkg/triggers/Lock"
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/dpx/root" -cf "$WORK/dpkgextra.tar" .
  rm -rf "$WORK/dpx"
fi

# --- layer: deletions (a whiteout and an opaque directory) ----------------------------------------
if [ ! -f "$WORK/delete.tar" ]; then
  rm -rf "$WORK/del"
  # six is removed by a whiteout of its dist-info and module; node_modules/ms is replaced by an
  # opaque directory that holds nothing (so ms disappears); /etc/motd is deleted.
  mkdir -p "$WORK/del/usr/local/lib/python3.11/site-packages" "$WORK/del/app/node_modules/ms" "$WORK/del/etc"
  : >"$WORK/del/usr/local/lib/python3.11/site-packages/.wh.six-1.16.0.dist-info"
  : >"$WORK/del/usr/local/lib/python3.11/site-packages/.wh.six.py"
  : >"$WORK/del/app/node_modules/ms/.wh..wh..opq"
  : >"$WORK/del/etc/.wh.motd"
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/del" -cf "$WORK/delete.tar" .
  rm -rf "$WORK/del"
fi

# --- layer: an RPM root (rpm 4.18's SQLite database, packages built here with rpmbuild) ---------
if [ ! -f "$WORK/rpm.tar" ]; then
  log "rpmbuild + rpm --root"
  rm -rf "$WORK/rpmb" "$WORK/rpmroot"
  mkdir -p "$WORK/rpmb/SPECS" "$WORK/rpmroot/etc"
  mkspec() { # name version release epoch|- license
    {
      echo "Name: $1"; echo "Version: $2"; echo "Release: $3"
      [ "$4" != - ] && echo "Epoch: $4"
      echo "Summary: image kit test package"; echo "License: $5"; echo "BuildArch: noarch"
      echo "Vendor: kubescape-rs image kit"
      printf '%%description\nTest package of the image kit.\n%%install\nmkdir -p %%{buildroot}/usr/share/%s\necho %s > %%{buildroot}/usr/share/%s/README\n%%files\n/usr/share/%s/README\n' "$1" "$1" "$1" "$1"
    } >"$WORK/rpmb/SPECS/$1.spec"
    HOME="$WORK/rpmb" rpmbuild --quiet --define "_topdir $WORK/rpmb" -bb "$WORK/rpmb/SPECS/$1.spec" >&2
  }
  mkspec kit-hello 1.2.3 4.fc39 1 MIT
  mkspec kit-data 0.9 1.fc39 - Apache-2.0
  rpm --root "$WORK/rpmroot" --dbpath /var/lib/rpm --initdb
  rpm --root "$WORK/rpmroot" --dbpath /var/lib/rpm -i --nodeps --ignoreos --ignorearch --noscripts \
    "$WORK"/rpmb/RPMS/noarch/*.rpm 2>/dev/null
  rm -f "$WORK/rpmroot/var/lib/rpm/.rpm.lock"
  printf 'NAME="Fedora Linux"\nVERSION="39 (Container Image)"\nID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora Linux 39 (Container Image)"\n' \
    >"$WORK/rpmroot/etc/os-release"
  echo "Fedora release 39 (Thirty Nine)" >"$WORK/rpmroot/etc/fedora-release"
  tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/rpmroot" -cf "$WORK/rpm.tar" .
  rm -rf "$WORK/rpmb" "$WORK/rpmroot"
fi

# --- assemble images ------------------------------------------------------------------------------
build() { # name compression:layer...
  local name="$1"; shift
  [ -f "$OUT/$name.oci.tar" ] && return 0
  log "assembling $name"
  rm -rf "$OUT/$name.oci" "$OUT/$name.oci.tar"
  python3 "$HERE/image-kit-assemble.py" "$OUT/$name.oci" "$WORK" "$@"
  rm -f "$OUT/$name.tar.tmp"
  case " $* " in
    *zstd:*) ;; # docker archives cannot hold zstd layers: OCI layout only
    *)
      skopeo copy -q "oci:$OUT/$name.oci" "docker-archive:$OUT/$name.tar.tmp:kit/$name:v1" >&2
      mv "$OUT/$name.tar.tmp" "$OUT/$name.tar" ;;
  esac
  tar -C "$OUT/$name.oci" -cf "$OUT/$name.oci.tar.tmp" .
  mv "$OUT/$name.oci.tar.tmp" "$OUT/$name.oci.tar"
}
build debian gzip:debian
build apps gzip:debian gzip:python gzip:npm gzip:go gzip:java gzip:delete
build apps-zstd gzip:debian zstd:python zstd:npm gzip:go gzip:java gzip:delete
build rpm gzip:rpm
build rust gzip:debian gzip:rust
build deblayers gzip:debian gzip:dpkgextra

# --- benchmark images (only with `bench`) ---------------------------------------------------------
if [ "${1:-}" = bench ]; then
  if [ ! -f "$WORK/debian-big.tar" ]; then
    log "debootstrap bookworm with a few hundred packages"
    rm -rf "$WORK/big-root"
    debootstrap --include=python3,perl,curl,git,openssh-client,build-essential,vim,less,procps,iproute2 \
      bookworm "$WORK/big-root" http://deb.debian.org/debian >&2
    rm -rf "$WORK/big-root/var/cache/apt/archives/"*.deb "$WORK/big-root/var/lib/apt/lists/"*
    tar --numeric-owner --sort=name --mtime=@1700000000 -C "$WORK/big-root" -cf "$WORK/debian-big.tar" .
    rm -rf "$WORK/big-root"
  fi
  build debian-big gzip:debian-big
  if [ ! -f "$WORK/bulk.tar" ]; then
    # Many real files: the Python, npm, Go and Java trees of this machine's toolchains, copied as a
    # second layer until the image passes 1 GB uncompressed.
    log "bulk layer (>1 GB of real files)"
    tar --numeric-owner -cf "$WORK/bulk.tar" --exclude='*/__pycache__' \
      /usr/lib/python3 /usr/share /usr/lib/go-1.19 /usr/lib/x86_64-linux-gnu /usr/lib/node_modules 2>/dev/null || true
  fi
  build big gzip:debian-big gzip:python gzip:npm gzip:bulk
fi
echo "$OUT"
