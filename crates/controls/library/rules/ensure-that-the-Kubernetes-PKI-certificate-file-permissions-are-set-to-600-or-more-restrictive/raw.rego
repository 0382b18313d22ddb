package armo_builtins

import rego.v1

# Checks the mode of each certificate (*.crt) in the Kubernetes PKI directory: no permission bit beyond 600 may be set.
deny contains msga if {
	some obj in input
	obj.kind == "ControlPlaneInfo"
	some file in as_array(obj.data.PKIFiles)
	endswith(file.path, ".crt")
	too_permissive(file.permissions, max_mode)
	msga := {
		"alertMessage": sprintf("%s has mode %o, more permissive than %o", [file.path, file.permissions, max_mode]),
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": sprintf("chmod %o %s", [max_mode, file.path]),
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": host_evidence(obj, {"PKIFiles": [file]})},
	}
}

# 600 octal
max_mode := 384

too_permissive(mode, allowed) if bits.and(mode, bits.negate(allowed)) != 0

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
