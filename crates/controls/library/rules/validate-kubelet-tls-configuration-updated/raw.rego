package armo_builtins

import rego.v1

# The kubelet needs its own serving certificate and key; otherwise it generates
# a self-signed pair that clients cannot verify.

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	count(missing_on_cmdline(obj)) > 0
	not uses_config_file(obj)
	msga := {
		"alertMessage": sprintf("The kubelet is started without %s", [concat(", ", missing_on_cmdline(obj))]),
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": cmdline_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	uses_config_file(obj)
	missing := missing_in_config(obj)
	count(missing) > 0
	msga := {
		"alertMessage": sprintf("Neither the kubelet command line nor its configuration file sets %s", [concat(", ", missing)]),
		"alertScore": 2,
		"failedPaths": missing,
		"reviewPaths": missing,
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	count(missing_on_cmdline(obj)) > 0
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

# [flag, configuration key] pairs (a function: package-level arrays would be read as alerts).
tls_settings(_) := [["tls-cert-file", "tlsCertFile"], ["tls-private-key-file", "tlsPrivateKeyFile"]]

missing_on_cmdline(obj) := [sprintf("--%s", [s[0]]) |
	some s in tls_settings(obj)
	not has_flag(kubelet_cmdline(obj), s[0])
]

missing_in_config(obj) := [s[1] |
	config := kubelet_config(obj)
	some s in tls_settings(obj)
	not has_flag(kubelet_cmdline(obj), s[0])
	not config[s[1]]
]

# ---- Kubelet host-sensor helpers ----

is_kubelet_info(obj) if obj.kind == "KubeletInfo"

kubelet_cmdline(obj) := object.get(obj, ["data", "cmdLine"], "")

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
