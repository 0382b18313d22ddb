package armo_builtins

import rego.v1

# Each CNI configuration file must be owned by root:root.
deny contains msga if {
	some obj in input
	obj.kind == "CNIInfo"
	some file in as_array(obj.data.CNIConfigFiles)
	not ownership_unknown(file.ownership)
	not owned_by_root(file.ownership)
	msga := {
		"alertMessage": sprintf("%s is owned by %s:%s, expected root:root", [file.path, owner_name(file.ownership, "username", "uid"), owner_name(file.ownership, "groupname", "gid")]),
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": sprintf("chown root:root %s", [file.path]),
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": host_evidence(obj, {"CNIConfigFiles": [file]})},
	}
}

# The sensor resolves owner names; fall back to numeric ids when names are missing.
owned_by_root(o) if {
	o.username == "root"
	o.groupname == "root"
}

owned_by_root(o) if {
	not o.username
	o.uid == 0
	o.gid == 0
}

# The sensor could not stat the file: nothing to judge.
ownership_unknown(o) if o.err

owner_name(o, name_key, id_key) := o[name_key] if o[name_key] != ""

owner_name(o, name_key, id_key) := sprintf("%v", [object.get(o, id_key, "?")]) if {
	not o[name_key]
}

owner_name(o, name_key, id_key) := sprintf("%v", [object.get(o, id_key, "?")]) if {
	o[name_key] == ""
}

# The host object reduced to the offending file, kept under its original data path.
host_evidence(obj, data) := {
	"apiVersion": obj.apiVersion,
	"kind": obj.kind,
	"metadata": object.get(obj, "metadata", {}),
	"data": data,
}

# Lists the sensor could not fill arrive as null.
as_array(x) := x if is_array(x)

as_array(x) := [] if not is_array(x)
