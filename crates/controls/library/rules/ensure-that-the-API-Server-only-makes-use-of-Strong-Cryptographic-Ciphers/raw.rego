package armo_builtins

import rego.v1

# The API server should only negotiate the TLS cipher suites the CIS benchmark accepts.
deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-apiserver")
	not has_flag(c.container, "--tls-cipher-suites")
	fix := {"path": append_path(c.container, c.prefix), "value": sprintf("--tls-cipher-suites=%s", [concat(",", accepted_ciphers(true))])}
	msga := cis_alert(obj, "the API server does not restrict its TLS cipher suites (--tls-cipher-suites is not set)", [], [fix], 2)
}

deny contains msga if {
	obj := input[_]
	some c in component_containers(obj, "kube-apiserver")
	some flag in flags_named(c.container, c.prefix, "--tls-cipher-suites")
	configured := split(flag.value, ",")
	weak := [cipher | some cipher in configured; not cipher in accepted_ciphers(true)]
	count(weak) > 0
	kept := [cipher | some cipher in configured; cipher in accepted_ciphers(true)]
	msga := cis_alert(obj, sprintf("the API server allows weak TLS cipher suites: %v", [concat(",", weak)]), [flag.path], cipher_fix(flag.path, kept), 2)
}

cipher_fix(_, kept) := [] if count(kept) == 0

cipher_fix(path, kept) := [{"path": path, "value": sprintf("--tls-cipher-suites=%s", [concat(",", kept)])}] if count(kept) > 0

# A function (not a constant) because top-level arrays would be read as alerts.
accepted_ciphers(_) := [
	"TLS_AES_128_GCM_SHA256",
	"TLS_AES_256_GCM_SHA384",
	"TLS_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	"TLS_RSA_WITH_AES_128_CBC_SHA",
	"TLS_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_RSA_WITH_AES_256_CBC_SHA",
	"TLS_RSA_WITH_AES_256_GCM_SHA384",
]

# Control-plane flags may sit in command (kubeadm manifests) or args (e.g. RKE2).
# New flags are appended to args when the container has them, else to command.
flag_field(container) := "args" if count(object.get(container, "args", [])) > 0

flag_field(container) := "command" if count(object.get(container, "args", [])) == 0

# Every "--name=value" entry of the container: name, value and path.
flag_entries(container, prefix) := [entry |
	some field in ["command", "args"]
	some j, arg in object.get(container, field, [])
	startswith(arg, "--")
	entry := {
		"name": flag_name(arg),
		"value": flag_value(arg),
		"path": sprintf("%s.%s[%d]", [prefix, field, j]),
	}
]

# The entries of one flag (it may be repeated).
flags_named(container, prefix, name) := [entry |
	some entry in flag_entries(container, prefix)
	entry.name == name
]

has_flag(container, name) if {
	some arg in array.concat(object.get(container, "command", []), object.get(container, "args", []))
	flag_name(arg) == name
}

flag_name(arg) := split(arg, "=")[0]

flag_value(arg) := substring(arg, count(flag_name(arg)) + 1, -1) if contains(arg, "=")

flag_value(arg) := "" if not contains(arg, "=")

# Path where a missing flag should be appended; offset skips slots taken by other new flags.
append_path_at(container, prefix, offset) := sprintf("%s.%s[%d]", [
	prefix, flag_field(container),
	count(object.get(container, flag_field(container), [])) + offset,
])

append_path(container, prefix) := append_path_at(container, prefix, 0)

# Containers of a control-plane Pod running the given binary (command[0] or,
# for images that set the entry point, the container name).
component_containers(obj, binary) := [entry |
	obj.kind == "Pod"
	some i, container in obj.spec.containers
	runs_binary(container, binary)
	entry := {"container": container, "prefix": sprintf("spec.containers[%d]", [i])}
]

runs_binary(container, binary) if {
	parts := split(container.command[0], "/")
	parts[count(parts) - 1] == binary
}

runs_binary(container, binary) if {
	not container.command
	container.name == binary
}

cis_alert(obj, message, review, fixes, score) := {
	"alertMessage": message,
	"packagename": "armo_builtins",
	"alertScore": score,
	"ruleStatus": "",
	"reviewPaths": review,
	"failedPaths": review,
	"fixPaths": fixes,
	"alertObject": {"k8sApiObjects": [obj]},
}
