package armo_builtins

import rego.v1

# The controller manager needs an explicit --service-account-private-key-file to
# sign service-account tokens with a key that can be rotated.
deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-controller-manager")
	not has_flag(c.container, "--service-account-private-key-file")
	fix := {"path": append_path(c.container, c.prefix), "value": "--service-account-private-key-file=<path/to/key/filename.key>"}
	msga := cis_alert(obj, "kube-controller-manager is started without --service-account-private-key-file", [], [fix], 2)
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

# Path where a missing flag should be appended; offset skips slots taken by other new flags.
append_path_at(container, prefix, offset) := sprintf("%s.%s[%d]", [
	prefix, flag_field(container),
	count(object.get(container, flag_field(container), [])) + offset,
])

append_path(container, prefix) := append_path_at(container, prefix, 0)

# Containers of a control-plane Pod running the given binary (command[0] or,
# for images that set the entry point, the container name).
component_containers(obj, binary) := [entry |
	obj.kind == "Pod"
	some i, container in obj.spec.containers
	runs_binary(container, binary)
	entry := {"container": container, "prefix": sprintf("spec.containers[%d]", [i])}
]

runs_binary(container, binary) if {
	parts := split(container.command[0], "/")
	parts[count(parts) - 1] == binary
}

runs_binary(container, binary) if {
	not container.command
	container.name == binary
}

cis_alert(obj, message, review, fixes, score) := {
	"alertMessage": message,
	"packagename": "armo_builtins",
	"alertScore": score,
	"ruleStatus": "",
	"reviewPaths": review,
	"failedPaths": review,
	"fixPaths": fixes,
	"alertObject": {"k8sApiObjects": [obj]},
}
