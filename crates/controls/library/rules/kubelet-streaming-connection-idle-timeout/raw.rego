package armo_builtins

import rego.v1

# A zero streaming-connection idle timeout keeps exec/attach/port-forward
# connections open forever.

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	is_zero_duration(flag_value(kubelet_cmdline(obj), "streaming-connection-idle-timeout"))
	msga := {
		"alertMessage": "The kubelet disables the idle timeout of streaming connections (--streaming-connection-idle-timeout=0)",
		"alertScore": 3,
		"failedPaths": [],
		"reviewPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {
			"apiVersion": obj.apiVersion,
			"kind": obj.kind,
			"data": {"cmdLine": kubelet_cmdline(obj)},
		},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "streaming-connection-idle-timeout")
	uses_config_file(obj)
	is_zero_duration(kubelet_config(obj).streamingConnectionIdleTimeout)
	msga := {
		"alertMessage": "The kubelet configuration file sets streamingConnectionIdleTimeout to 0",
		"alertScore": 3,
		"failedPaths": ["streamingConnectionIdleTimeout"],
		"reviewPaths": ["streamingConnectionIdleTimeout"],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

# 0, "0", "0s", "0m0s", ...
is_zero_duration(v) if regex.match(`^(0+(\.0+)?[a-zµ]*)+$`, sprintf("%v", [v]))

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "streaming-connection-idle-timeout")
	config_unreadable(obj)
	msga := {
		"alertMessage": "Could not read the kubelet configuration file given by --config",
		"alertScore": 3,
		"failedPaths": [],
		"reviewPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

# ---- Kubelet host-sensor helpers ----

is_kubelet_info(obj) if obj.kind == "KubeletInfo"

kubelet_cmdline(obj) := object.get(obj, ["data", "cmdLine"], "")

# Value of a command-line flag written as --flag=value or --flag value; the last
# occurrence wins, like Go's flag package.
flag_value(cmd, flag) := value if {
	found := regex.find_all_string_submatch_n(sprintf(`--%s(?:=|\s+)(\S+)`, [flag]), cmd, -1)
	count(found) > 0
	value := found[count(found) - 1][1]
}

has_flag(cmd, flag) if regex.match(sprintf(`--%s(?:=|\s|$)`, [flag]), cmd)

# The kubelet reads a configuration file only when started with --config.
uses_config_file(obj) if has_flag(kubelet_cmdline(obj), "config")

config_text(obj) := base64.decode(obj.data.configFile.content)

# --config is set but the sensor could not read the file.
config_unreadable(obj) if {
	uses_config_file(obj)
	not has_config_content(obj)
}

has_config_content(obj) if obj.data.configFile.content != ""

node_metadata(obj) := {"name": object.get(obj, ["metadata", "name"], "")}

# The host object as evidence of a configuration-file finding (decoded file).
config_evidence(obj) := {
	"apiVersion": obj.apiVersion,
	"kind": obj.kind,
	"metadata": node_metadata(obj),
	"data": {"configFile": {"content": config_text(obj)}},
}

# The configuration file is YAML (JSON is a subset).
kubelet_config(obj) := yaml.unmarshal(config_text(obj))
