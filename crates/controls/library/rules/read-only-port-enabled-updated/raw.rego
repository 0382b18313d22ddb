package armo_builtins

import rego.v1

# The read-only port serves kubelet data without authentication; it must be 0.
# The command-line default is 10255 (open), the configuration-file default is 0.

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	to_number(flag_value(kubelet_cmdline(obj), "read-only-port")) != 0
	msga := cmdline_alert(obj)
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "read-only-port")
	not uses_config_file(obj)
	msga := cmdline_alert(obj)
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "read-only-port")
	uses_config_file(obj)
	port := kubelet_config(obj).readOnlyPort
	port != 0
	msga := {
		"alertMessage": sprintf("The kubelet configuration file opens the unauthenticated read-only port %v", [port]),
		"alertScore": 4,
		"failedPaths": ["readOnlyPort"],
		"reviewPaths": ["readOnlyPort"],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

cmdline_alert(obj) := {
	"alertMessage": "The kubelet read-only port is not disabled (--read-only-port)",
	"alertScore": 4,
	"failedPaths": [],
	"fixPaths": [],
	"packagename": "armo_builtins",
	"alertObject": {
		"apiVersion": obj.apiVersion,
		"kind": obj.kind,
		"data": {"cmdLine": kubelet_cmdline(obj)},
	},
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "read-only-port")
	config_unreadable(obj)
	msga := {
		"alertMessage": "Could not read the kubelet configuration file given by --config",
		"alertScore": 4,
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
