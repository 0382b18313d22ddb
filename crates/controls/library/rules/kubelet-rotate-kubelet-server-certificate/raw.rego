package armo_builtins

import rego.v1

# The RotateKubeletServerCertificate feature gate lets the kubelet request and
# renew its serving certificate; it must not be disabled.

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	gates := flag_value(kubelet_cmdline(obj), "feature-gates")
	some gate in split(gates, ",")
	lower(trim_space(gate)) == "rotatekubeletservercertificate=false"
	msga := {
		"alertMessage": "The kubelet disables the RotateKubeletServerCertificate feature gate",
		"alertScore": 6,
		"failedPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": cmdline_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not server_gate_on_cmdline(kubelet_cmdline(obj))
	uses_config_file(obj)
	kubelet_config(obj).featureGates.RotateKubeletServerCertificate == false
	msga := {
		"alertMessage": "The kubelet configuration file disables the RotateKubeletServerCertificate feature gate",
		"alertScore": 6,
		"failedPaths": ["featureGates.RotateKubeletServerCertificate"],
		"reviewPaths": ["featureGates.RotateKubeletServerCertificate"],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

server_gate_on_cmdline(cmd) if contains(flag_value(cmd, "feature-gates"), "RotateKubeletServerCertificate=")

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
