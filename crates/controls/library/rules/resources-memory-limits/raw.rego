package armo_builtins

import rego.v1

# Without a memory limit a container can use all of the node's memory and starve its
# neighbours. One alert per container without resources.limits.memory.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	not container.resources.limits.memory
	msga := {
		"alertMessage": sprintf("%s %s: container %s has no memory limit", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("%s%s[%d].resources.limits.memory", [prefix, kind, c]), "value": "YOUR_VALUE"}],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
