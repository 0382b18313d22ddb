package armo_builtins

import rego.v1

# kube-proxy's metrics endpoint has no authentication; its configuration must bind it to
# the loopback address. The check reads metricsBindAddress from the KubeProxyConfiguration
# stored in the kube-proxy ConfigMap; a missing setting is reported too.
deny contains msga if {
	configmap := input[_]
	configmap.kind == "ConfigMap"
	configmap.metadata.name == "kube-proxy"
	some config in configmap.data
	contains(config, "KubeProxyConfiguration")
	not bound_to_localhost(config)

	msga := {
		"alertMessage": "kube-proxy metrics are not bound to localhost (metricsBindAddress)",
		"alertScore": 7,
		"failedPaths": ["data"],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [configmap]},
	}
}

bound_to_localhost(config) if {
	matches := regex.find_all_string_submatch_n(`(?m)^\s*metricsBindAddress:\s*["']?([^"'\s]+)`, config, 1)
	address := matches[0][1]
	some prefix in ["127.0.0.1", "localhost", "[::1]", "::1"]
	startswith(address, prefix)
}
