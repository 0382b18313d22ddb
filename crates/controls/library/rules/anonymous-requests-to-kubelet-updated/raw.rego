package armo_builtins

import rego.v1

# Anonymous kubelet requests: the --anonymous-auth flag overrides the configuration
# file; without either, nothing is asserted (config files default to disabled).

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	bool_flag_value(kubelet_cmdline(obj), "anonymous-auth") == "true"
	msga := {
		"alertMessage": "The kubelet accepts anonymous requests (--anonymous-auth=true)",
		"alertScore": 7,
		"failedPaths": [],
		"reviewPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": cmdline_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "anonymous-auth")
	uses_config_file(obj)
	kubelet_config(obj).authentication.anonymous.enabled == true
	msga := {
		"alertMessage": "The kubelet configuration file enables anonymous requests",
		"alertScore": 7,
		"failedPaths": ["authentication.anonymous.enabled"],
		"reviewPaths": ["authentication.anonymous.enabled"],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "anonymous-auth")
	config_unreadable(obj)
	msga := {
		"alertMessage": "Could not read the kubelet configuration file",
		"alertScore": 7,
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

# Boolean flags may be given bare (--flag), which means true.
bool_flag_value(cmd, flag) := value if {
	found := regex.find_all_string_submatch_n(sprintf(`--%s(?:=(\S*))?(?:\s|$)`, [flag]), cmd, -1)
	count(found) > 0
	value := bare_means_true(found[count(found) - 1][1])
}

bare_means_true("") := "true"

bare_means_true(v) := v if v != ""

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
