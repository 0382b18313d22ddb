package armo_builtins

import rego.v1

# Without a per-pod PID limit one pod can exhaust the node's process IDs.
deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "pod-max-pids")
	not config_sets_pid_limit(obj)
	msga := {
		"alertMessage": "The kubelet sets no per-pod PID limit (--pod-max-pids / podPidsLimit)",
		"alertScore": 3,
		"failedPaths": [],
		"reviewPaths": null,
		"deletePaths": null,
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": cmdline_evidence(obj)},
	}
}

# Looked up in the raw text so that a file the YAML parser rejects still counts.
config_sets_pid_limit(obj) if {
	uses_config_file(obj)
	regex.match(`(?m)^\s*podPidsLimit\s*:`, config_text(obj))
}

# ---- Kubelet host-sensor helpers ----

is_kubelet_info(obj) if obj.kind == "KubeletInfo"

kubelet_cmdline(obj) := object.get(obj, ["data", "cmdLine"], "")

has_flag(cmd, flag) if regex.match(sprintf(`--%s(?:=|\s|$)`, [flag]), cmd)

# The kubelet reads a configuration file only when started with --config.
uses_config_file(obj) if has_flag(kubelet_cmdline(obj), "config")

config_text(obj) := base64.decode(obj.data.configFile.content)

node_metadata(obj) := {"name": object.get(obj, ["metadata", "name"], "")}

# The host object as evidence of a command-line finding.
cmdline_evidence(obj) := {
	"apiVersion": obj.apiVersion,
	"kind": obj.kind,
	"metadata": node_metadata(obj),
	"data": {"cmdLine": kubelet_cmdline(obj)},
}
