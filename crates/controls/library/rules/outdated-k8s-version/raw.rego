package armo_builtins

import rego.v1

# Nodes whose kubelet is older than the oldest Kubernetes minor release still receiving
# upstream patches: known vulnerabilities there are no longer fixed.

# Oldest supported minor version of Kubernetes 1.x (update as releases reach end of life).
oldest_supported := {"major": 1, "minor": 32}

deny contains msga if {
	node := input[_]
	node.kind == "Node"
	version := node.status.nodeInfo.kubeletVersion
	parts := regex.find_all_string_submatch_n(`^v?(\d+)\.(\d+)`, version, 1)[0]
	is_outdated(to_number(parts[1]), to_number(parts[2]))

	# Field values (empty package name, zero score) follow the established output of this check.
	msga := {
		"alertMessage": sprintf("Node %s runs kubelet %s, which is no longer supported", [node.metadata.name, version]),
		"alertScore": 0,
		"reviewPaths": ["status.nodeInfo.kubeletVersion"],
		"failedPaths": null,
		"deletePaths": null,
		"fixPaths": null,
		"ruleStatus": "",
		"packagename": "",
		"alertObject": {"k8sApiObjects": [node]},
	}
}

is_outdated(major, _) if major < oldest_supported.major

is_outdated(major, minor) if {
	major == oldest_supported.major
	minor < oldest_supported.minor
}
