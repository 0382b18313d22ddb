package armo_builtins

import rego.v1

# An event QPS of 0 removes the rate limit on event creation, letting a noisy
# workload flood the API server.

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	to_number(flag_value(kubelet_cmdline(obj), "event-qps")) == 0
	msga := {
		"alertMessage": "The kubelet is started with --event-qps=0 (no limit on event creation)",
		"alertScore": 2,
		"failedPaths": [],
		"reviewPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": cmdline_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "event-qps")
	uses_config_file(obj)
	kubelet_config(obj).eventRecordQPS == 0
	msga := {
		"alertMessage": "The kubelet configuration file sets eventRecordQPS to 0 (no limit on event creation)",
		"alertScore": 2,
		"failedPaths": ["eventRecordQPS"],
		"reviewPaths": ["eventRecordQPS"],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "event-qps")
	config_unreadable(obj)
	msga := {
		"alertMessage": "Could not read the kubelet configuration file given by --config",
		"alertScore": 2,
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

# The host object as evidence of a command-line finding.
cmdline_evidence(obj) := {
	"apiVersion": obj.apiVersion,
	"kind": obj.kind,
	"metadata": node_metadata(obj),
	"data": {"cmdLine": kubelet_cmdline(obj)},
}

# The host object as evidence of a configuration-file finding (decoded file).
config_evidence(obj) := {
	"apiVersion": obj.apiVersion,
	"kind": obj.kind,
	"metadata": node_metadata(obj),
	"data": {"configFile": {"content": config_text(obj)}},
}

# The configuration file is YAML (JSON is a subset).
kubelet_config(obj) := yaml.unmarshal(config_text(obj))
