package armo_builtins

import rego.v1

# Agent sandbox containers need a CPU limit, and it must stay within the configured
# ceiling (sandbox_cpu_limit_max): a runaway or malicious agent must not be able to
# starve the node's other workloads of CPU.
deny contains msga if {
	template := input[_]
	template.kind == "SandboxTemplate"
	some i, container in template.spec.podTemplate.spec.containers
	not container.resources.limits.cpu

	msga := {
		"alertMessage": sprintf("SandboxTemplate %s: container %s has no CPU limit", [template.metadata.name, container.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("spec.podTemplate.spec.containers[%d].resources.limits.cpu", [i]), "value": "YOUR_VALUE"}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [template]},
	}
}

deny contains msga if {
	template := input[_]
	template.kind == "SandboxTemplate"
	some i, container in template.spec.podTemplate.spec.containers
	limit := container.resources.limits.cpu
	ceiling := data.postureControlInputs.sandbox_cpu_limit_max[0]
	units.parse(sprintf("%v", [limit])) > units.parse(ceiling)

	path := sprintf("spec.podTemplate.spec.containers[%d].resources.limits.cpu", [i])
	msga := {
		"alertMessage": sprintf("SandboxTemplate %s: container %s CPU limit %v exceeds %v", [template.metadata.name, container.name, limit, ceiling]),
		"alertScore": 7,
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [template]},
	}
}
