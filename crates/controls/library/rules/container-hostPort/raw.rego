package armo_builtins

import rego.v1

# A hostPort binds the container to a port on the node, bypassing network policies
# and limiting scheduling. One alert per container port that sets it.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	some p, port in container.ports
	port.hostPort
	path := sprintf("%s%s[%d].ports[%d].hostPort", [prefix, kind, c, p])
	msga := {
		"alertMessage": sprintf("%s %s: container %s uses hostPort %v", [wl.kind, wl.metadata.name, container.name, port.hostPort]),
		"packagename": "armo_builtins",
		"alertScore": 4,
		"ruleStatus": "",
		"failedPaths": [path],
		"deletePaths": [path],
		"fixPaths": [],
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
