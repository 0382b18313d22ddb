package armo_builtins

import rego.v1

# Nodes not running Container-Optimized OS: a general-purpose OS image brings a larger
# attack surface (packages, writable system partitions) than an OS built only to run containers.
deny contains msga if {
	node := input[_]
	node.kind == "Node"
	not contains(lower(node.status.nodeInfo.osImage), "container-optimized os")

	path := "status.nodeInfo.osImage"
	msga := {
		"alertMessage": sprintf("Node %s runs %s, not Container-Optimized OS", [node.metadata.name, node.status.nodeInfo.osImage]),
		"alertScore": 7,
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [node]},
	}
}
