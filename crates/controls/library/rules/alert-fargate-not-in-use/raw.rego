package armo_builtins

import rego.v1

# EKS nodes that are not Fargate nodes: workloads there share a VM (and its kernel) with
# other pods, while Fargate gives each pod its own isolated compute.
deny contains msga if {
	node := input[_]
	node.kind == "Node"
	not is_fargate_node(node)

	msga := {
		"alertMessage": sprintf("Node %s is not a Fargate node", [node.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [node]},
	}
}

is_fargate_node(node) if startswith(node.metadata.name, "fargate-")

is_fargate_node(node) if node.metadata.labels["eks.amazonaws.com/compute-type"] == "fargate"
