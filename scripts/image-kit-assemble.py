#!/usr/bin/env python3
"""Writes an OCI image layout from uncompressed layer tarballs (used by scripts/image-kit.sh).

usage: image-kit-assemble.py OUT_DIR WORK_DIR compression:layer [compression:layer ...]
compression is gzip or zstd; each layer is WORK_DIR/<layer>.tar.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys

out, work, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)


def put(data: bytes) -> str:
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return d


def put_file(path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    d = h.hexdigest()
    shutil.move(path, os.path.join(blobs, d))
    return d, os.path.getsize(os.path.join(blobs, d))


layers, diff_ids = [], []
for spec in specs:
    comp, name = spec.split(":", 1)
    src = os.path.join(work, name + ".tar")
    h = hashlib.sha256()
    with open(src, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    diff_ids.append("sha256:" + h.hexdigest())
    tmp = os.path.join(out, "layer.tmp")
    if comp == "gzip":
        with open(src, "rb") as fi, gzip.GzipFile(tmp, "wb", compresslevel=6, mtime=0) as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
        media = "application/vnd.oci.image.layer.v1.tar+gzip"
    elif comp == "zstd":
        subprocess.run(["zstd", "-q", "-3", "-f", "-o", tmp, src], check=True)
        media = "application/vnd.oci.image.layer.v1.tar+zstd"
    else:
        raise SystemExit(f"unknown compression {comp}")
    d, size = put_file(tmp)
    layers.append({"mediaType": media, "digest": "sha256:" + d, "size": size})

config = {
    "architecture": "amd64",
    "os": "linux",
    "created": "2023-11-14T22:13:20Z",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
    "rootfs": {"type": "layers", "diff_ids": diff_ids},
    "history": [{"created": "2023-11-14T22:13:20Z", "created_by": f"image-kit {s}"} for s in specs],
}
cfg = json.dumps(config, separators=(",", ":")).encode()
cd = put(cfg)
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": len(cfg)},
    "layers": layers,
}
mb = json.dumps(manifest, separators=(",", ":")).encode()
md = put(mb)
index = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + md,
        "size": len(mb),
        "platform": {"architecture": "amd64", "os": "linux"},
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }],
}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
