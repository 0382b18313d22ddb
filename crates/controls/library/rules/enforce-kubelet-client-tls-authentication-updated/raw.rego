package armo_builtins

import rego.v1

# Client certificate authentication needs a client CA, given by --client-ca-file
# or by authentication.x509.clientCAFile in the configuration file.

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "client-ca-file")
	not uses_config_file(obj)
	msga := {
		"alertMessage": "The kubelet has no client CA file, so client certificates are not verified",
		"alertScore": 6,
		"failedPaths": [],
		"reviewPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": {
			"apiVersion": obj.apiVersion,
			"kind": obj.kind,
			"data": {"cmdLine": kubelet_cmdline(obj)},
		}},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "client-ca-file")
	uses_config_file(obj)
	config := kubelet_config(obj)
	not has_client_ca(config)
	msga := {
		"alertMessage": "The kubelet configuration file sets no authentication.x509.clientCAFile",
		"alertScore": 6,
		"failedPaths": ["authentication.x509.clientCAFile"],
		"reviewPaths": ["authentication.x509.clientCAFile"],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "client-ca-file")
	config_unreadable(obj)
	msga := {
		"alertMessage": "Could not read the kubelet configuration file",
		"alertScore": 6,
		"failedPaths": [],
		"reviewPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

has_client_ca(config) if config.authentication.x509.clientCAFile != ""

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

# The host object as evidence of a configuration-file finding (decoded file).
config_evidence(obj) := {
	"apiVersion": obj.apiVersion,
	"kind": obj.kind,
	"metadata": node_metadata(obj),
	"data": {"configFile": {"content": config_text(obj)}},
}

# The configuration file is YAML (JSON is a subset).
kubelet_config(obj) := yaml.unmarshal(config_text(obj))
