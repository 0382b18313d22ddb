package armo_builtins

import rego.v1

# Without an audit policy the API server keeps no record of who did what.
deny contains msga if {
	obj := input[_]
	obj.kind == "Pod"
	some i, container in obj.spec.containers
	not has_flag(container, "--audit-policy-file")
	path := sprintf("spec.containers[%d].%s", [i, flag_field(container)])
	msga := {
		"alertMessage": "the API server has no audit policy (--audit-policy-file is not set)",
		"packagename": "armo_builtins",
		"alertScore": 9,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# Control-plane flags may sit in command (kubeadm manifests) or args (e.g. RKE2).
# New flags are appended to args when the container has them, else to command.
flag_field(container) := "args" if count(object.get(container, "args", [])) > 0

flag_field(container) := "command" if count(object.get(container, "args", [])) == 0

has_flag(container, name) if {
	some arg in array.concat(object.get(container, "command", []), object.get(container, "args", []))
	flag_name(arg) == name
}

flag_name(arg) := split(arg, "=")[0]
