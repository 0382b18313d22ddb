package armo_builtins

import rego.v1

# Agent sandbox containers need a memory limit, and it must stay within the configured
# ceiling (sandbox_memory_limit_max): a runaway or malicious agent must not be able to
# exhaust the node's memory.
deny contains msga if {
	template := input[_]
	template.kind == "SandboxTemplate"
	some i, container in template.spec.podTemplate.spec.containers
	not container.resources.limits.memory

	msga := {
		"alertMessage": sprintf("SandboxTemplate %s: container %s has no memory limit", [template.metadata.name, container.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("spec.podTemplate.spec.containers[%d].resources.limits.memory", [i]), "value": "YOUR_VALUE"}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [template]},
	}
}

deny contains msga if {
	template := input[_]
	template.kind == "SandboxTemplate"
	some i, container in template.spec.podTemplate.spec.containers
	limit := container.resources.limits.memory
	ceiling := data.postureControlInputs.sandbox_memory_limit_max[0]
	units.parse(sprintf("%v", [limit])) > units.parse(ceiling)

	path := sprintf("spec.podTemplate.spec.containers[%d].resources.limits.memory", [i])
	msga := {
		"alertMessage": sprintf("SandboxTemplate %s: container %s memory limit %v exceeds %v", [template.metadata.name, container.name, limit, ceiling]),
		"alertScore": 7,
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [template]},
	}
}
