package armo_builtins

import rego.v1

# The ServiceAccount admission plugin assigns service accounts and their tokens
# to pods; it is on by default and must not be disabled.
deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-apiserver")
	some flag in flags_named(c.container, c.prefix, "--disable-admission-plugins")
	plugins := split(flag.value, ",")
	"ServiceAccount" in plugins
	others := [p | some p in plugins; p != "ServiceAccount"]
	msga := cis_alert(obj, "the ServiceAccount admission plugin is disabled", [flag.path], still_disabled(flag.path, others), 2)
}

# With nothing else left the flag itself should go, which is not a value fix.
still_disabled(_, others) := [] if count(others) == 0

still_disabled(path, others) := [{"path": path, "value": sprintf("--disable-admission-plugins=%s", [concat(",", others)])}] if {
	count(others) > 0
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
