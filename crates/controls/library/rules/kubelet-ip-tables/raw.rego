package armo_builtins

import rego.v1

# The kubelet should manage the iptables chains it needs (default: true).

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	bool_flag_value(kubelet_cmdline(obj), "make-iptables-util-chains") != "true"
	msga := {
		"alertMessage": "The kubelet is started with --make-iptables-util-chains set to false",
		"alertScore": 3,
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
	not has_flag(kubelet_cmdline(obj), "make-iptables-util-chains")
	uses_config_file(obj)
	kubelet_config(obj).makeIPTablesUtilChains == false
	msga := {
		"alertMessage": "The kubelet configuration file sets makeIPTablesUtilChains to false",
		"alertScore": 3,
		"failedPaths": ["makeIPTablesUtilChains"],
		"reviewPaths": ["makeIPTablesUtilChains"],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "make-iptables-util-chains")
	config_unreadable(obj)
	msga := {
		"alertMessage": "Could not read the kubelet configuration file given by --config",
		"alertScore": 6,
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
