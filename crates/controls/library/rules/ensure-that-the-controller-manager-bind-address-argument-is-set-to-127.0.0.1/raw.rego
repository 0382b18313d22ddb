package armo_builtins

import rego.v1

# The kube-controller-manager serves its health and metrics endpoints on --bind-address; anything but
# the loopback address exposes them to the network (the default is all interfaces).
deny contains msga if {
	some obj in input
	some [container, cpath] in cp_containers(obj, "kube-controller-manager")
	entry := flag(container, "bind-address")
	entry.value != "127.0.0.1"
	path := entry_path(cpath, entry)
	msga := alert(obj, sprintf("The kube-controller-manager listens on %s instead of 127.0.0.1", [entry.value]), 2, [path], [{"path": path, "value": "--bind-address=127.0.0.1"}])
}

deny contains msga if {
	some obj in input
	some [container, cpath] in cp_containers(obj, "kube-controller-manager")
	not has_flag(container, "bind-address")
	fix := {"path": append_path(container, cpath, 0), "value": "--bind-address=127.0.0.1"}
	msga := alert(obj, "The kube-controller-manager listens on all interfaces", 2, [], [fix])
}

# ---- control-plane flag helpers ----

# The containers running `binary` in a static control-plane Pod, each with its path.
cp_containers(obj, binary) := [[container, sprintf("spec.containers[%d]", [i])] |
	obj.kind == "Pod"
	some i, container in obj.spec.containers
	runs_binary(obj, container, binary)
]

runs_binary(_, container, binary) if container.command[0] == binary

runs_binary(_, container, binary) if endswith(container.command[0], sprintf("/%s", [binary]))

# Images whose entrypoint is the binary itself carry only args; fall back to the
# component label kubeadm and most distributions put on static pods.
runs_binary(obj, container, binary) if {
	count(object.get(container, "command", [])) == 0
	obj.metadata.labels.component == binary
}

# Every --flag of the container, from command then args. One element may hold several
# space-separated flags; each entry remembers the element it came from.
flag_entries(container) := [entry |
	some list in ["command", "args"]
	some i, element in object.get(container, list, [])
	tokens := [t | some t in split(element, " "); t != ""]
	some token in tokens
	startswith(token, "--")
	parts := split(token, "=")
	entry := {
		"list": list,
		"index": i,
		"token": token,
		"tokens": tokens,
		"name": trim_prefix(parts[0], "--"),
		"value": concat("=", array.slice(parts, 1, count(parts))),
	}
]

# The effective occurrence of a flag: the last one wins, as in the Kubernetes binaries.
flag(container, name) := matches[count(matches) - 1] if {
	matches := [e | some e in flag_entries(container); e.name == name]
	count(matches) > 0
}

has_flag(container, name) if flag(container, name)

entry_path(cpath, entry) := sprintf("%s.%s[%d]", [cpath, entry.list, entry.index])

# New flags are appended to args when the container has args, else to command.
# offset places several new flags one after the other.
append_list(container) := "args" if is_array(container.args)

else := "command"

append_path(container, cpath, offset) := sprintf("%s.%s[%d]", [
	cpath, append_list(container),
	count(object.get(container, append_list(container), [])) + offset,
])

# The element with the flag's token replaced by `token`.
element_with(entry, token) := concat(" ", [t |
	some x in entry.tokens
	t := replace_token(x, entry.token, token)
])

replace_token(x, old, new) := new if x == old

else := x

# The element without the flag's token ("" when nothing else is left).
element_without(entry) := concat(" ", [t | some t in entry.tokens; t != entry.token])

comma_list(value) := [v | some v in split(value, ","); v != ""]

alert(obj, message, score, failed, fixes) := {
	"alertMessage": message,
	"packagename": "armo_builtins",
	"alertScore": score,
	"ruleStatus": "",
	"reviewPaths": failed,
	"failedPaths": failed,
	"fixPaths": fixes,
	"alertObject": {"k8sApiObjects": [obj]},
}
