package armo_builtins

import rego.v1

# Without an encryption provider configuration the API server stores Secrets
# in etcd as plain text.
deny contains msga if {
	obj := input[_]
	obj.kind == "Pod"
	some i, container in obj.spec.containers
	not has_flag(container, "--encryption-provider-config")
	msga := {
		"alertMessage": "the API server does not encrypt data at rest in etcd (no --encryption-provider-config)",
		"packagename": "armo_builtins",
		"alertScore": 9,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": append_path(container, sprintf("spec.containers[%d]", [i])), "value": "--encryption-provider-config=YOUR_VALUE"}],
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

# Path where a missing flag should be appended.
append_path(container, prefix) := sprintf("%s.%s[%d]", [prefix, flag_field(container), count(object.get(container, flag_field(container), []))])
