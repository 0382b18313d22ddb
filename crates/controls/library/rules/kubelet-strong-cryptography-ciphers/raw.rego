package armo_builtins

import rego.v1

# The kubelet should only offer strong TLS cipher suites. Without an explicit
# list it falls back to Go's defaults, which include weaker suites.

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	suites := split(flag_value(kubelet_cmdline(obj), "tls-cipher-suites"), ",")
	some suite in suites
	not strong_cipher(trim_space(suite))
	msga := cmdline_alert(obj)
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "tls-cipher-suites")
	not uses_config_file(obj)
	msga := cmdline_alert(obj)
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "tls-cipher-suites")
	uses_config_file(obj)
	config := kubelet_config(obj)
	some key in ["tlsCipherSuites", "TLSCipherSuites"]
	some suite in as_list(config[key])
	not strong_cipher(suite)
	msga := {
		"alertMessage": "The kubelet configuration file allows weak TLS cipher suites",
		"alertScore": 5,
		"failedPaths": [key],
		"reviewPaths": [key],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": config_evidence(obj)},
	}
}

cmdline_alert(obj) := {
	"alertMessage": "The kubelet does not restrict TLS to strong cipher suites (--tls-cipher-suites)",
	"alertScore": 5,
	"failedPaths": [],
	"reviewPaths": [],
	"fixPaths": [],
	"ruleStatus": "",
	"packagename": "armo_builtins",
	"alertObject": {"externalObjects": cmdline_evidence(obj)},
}

as_list(v) := v if is_array(v)

as_list(v) := split(v, ",") if is_string(v)

strong_cipher(suite) if suite in {
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"TLS_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_RSA_WITH_AES_128_GCM_SHA256",
}

deny contains msga if {
	some obj in input
	is_kubelet_info(obj)
	not has_flag(kubelet_cmdline(obj), "tls-cipher-suites")
	config_unreadable(obj)
	msga := {
		"alertMessage": "Could not read the kubelet configuration file given by --config",
		"alertScore": 5,
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
