package armo_builtins

import rego.v1

# --secure-port=0 turns off the HTTPS listener of the API server.
deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-apiserver")
	some flag in flags_named(c.container, c.prefix, "--secure-port")
	flag.value == "0"
	msga := cis_alert(obj, "the API server secure port is disabled (--secure-port=0)", [flag.path], [], 2)
}

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

flag_name(arg) := split(arg, "=")[0]

flag_value(arg) := substring(arg, count(flag_name(arg)) + 1, -1) if contains(arg, "=")

flag_value(arg) := "" if not contains(arg, "=")

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
