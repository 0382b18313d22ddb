package armo_builtins

import rego.v1

# Audit log files should rotate at a size (100 MB by default) that suits the
# cluster; without --audit-log-maxsize the default rotation may not.
deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-apiserver")
	not has_flag(c.container, "--audit-log-maxsize")
	fix := {"path": append_path(c.container, c.prefix), "value": "--audit-log-maxsize=100"}
	msga := cis_alert(obj, "the API server does not set --audit-log-maxsize", [], [fix], 2)
}

# "As appropriate" cannot be judged automatically: a configured size is flagged
# for review, as the reference behaviour does.
deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-apiserver")
	some flag in flags_named(c.container, c.prefix, "--audit-log-maxsize")
	msga := cis_alert(obj, sprintf("review the API server audit log size limit (--audit-log-maxsize=%v)", [flag.value]), [flag.path], [], 2)
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
