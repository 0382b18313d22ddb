#!/usr/bin/env python3
"""Write the built-in control library's metadata files from the reference library facts.

Interface facts carry over from upstream (framework membership, control IDs, names, base scores,
scanning scopes, config-input keys, match specifications). Descriptions, remediation text and Rego
are our own and are never overwritten: re-running this keeps every `description`/`remediation`
already present and never touches `.rego` files.

Usage: scripts/import-library-metadata.py [REFERENCE_LIBRARY_DIR] [OUTPUT_DIR]
"""
import json
import os
import re
import sys

ref = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "../../shared/reference/kubescape-regolibrary/library")
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(__file__), "../crates/controls/library")


def load(name):
    with open(os.path.join(ref, name)) as f:
        return json.load(f)


def write(path, obj, keep=("description", "remediation")):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        for k in keep:
            if old.get(k):
                obj[k] = old[k]
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")


def slug(s):
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:60]


for fw in load("frameworks.json"):
    fw = dict(fw)
    fname = fw.pop("file")
    fw.setdefault("description", "")
    write(os.path.join(out, "frameworks", fname), fw)

for c in load("controls.json"):
    c = dict(c)
    c.setdefault("description", "")
    c.setdefault("remediation", "")
    write(os.path.join(out, "controls", f"{c['controlID'].lower()}-{slug(c['name'])}.json"), c)

for r in load("rules.json"):
    r = dict(r)
    directory = r.pop("directory")
    r.pop("hasFilter", None)
    r["ruleQuery"] = "armo_builtins"
    r.setdefault("description", "")
    r.setdefault("remediation", "")
    write(os.path.join(out, "rules", directory, "rule.metadata.json"), r)

write(os.path.join(out, "default-config-inputs.json"), load("default-config-inputs.json"), keep=())
exc = load("exceptions.json")
write(os.path.join(out, "exceptions", "system-exceptions.json"), exc, keep=())
write(os.path.join(out, "attack-tracks", "attack-tracks.json"), load("attack-tracks.json"), keep=())
print("library metadata written to", os.path.abspath(out))
