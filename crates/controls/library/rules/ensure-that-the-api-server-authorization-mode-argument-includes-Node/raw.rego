package armo_builtins

import rego.v1

# The Node authorizer restricts kubelets to the objects of their own node.
deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-apiserver")
	not has_flag(c.container, "--authorization-mode")
	fix := {"path": append_path(c.container, c.prefix), "value": "--authorization-mode=Node"}
	msga := cis_alert(obj, "the API server does not set --authorization-mode, so the Node authorizer is not used", [], [fix], 2)
}

deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-apiserver")
	some flag in flags_named(c.container, c.prefix, "--authorization-mode")
	not "Node" in split(flag.value, ",")
	fix := {"path": flag.path, "value": sprintf("--authorization-mode=%s,Node", [flag.value])}
	msga := cis_alert(obj, "the API server authorization modes do not include Node", [flag.path], [fix], 2)
}

# Control-plane flags may sit in command (kubeadm manifests) or args (e.g. RKE2).
# New flags are appended to args when the container has them, else to command.
flag_field(container) := "args" if count(object.get(container, "args", [])) > 0

flag_field(container) := "command" if count(object.get(container, "args", [])) == 0

# Every "--name=value" entry of the container: name, value and path.
flag_entries(container, prefix) := [entry |
	some field in ["command", "args"]
	some j, arg in object.get(container, field, [])
	startswith(arg, "--")
	entry := {
		"name": flag_name(arg),
		"value": flag_value(arg),
		"path": sprintf("%s.%s[%d]", [prefix, field, j]),
	}
]

# The entries of one flag (it may be repeated).
flags_named(container, prefix, name) := [entry |
	some entry in flag_entries(container, prefix)
	entry.name == name
]

has_flag(container, name) if {
	some arg in array.concat(object.get(container, "command", []), object.get(container, "args", []))
	flag_name(arg) == name
}

flag_name(arg) := split(arg, "=")[0]

flag_value(arg) := substring(arg, count(flag_name(arg)) + 1, -1) if contains(arg, "=")

flag_value(arg) := "" if not contains(arg, "=")

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
