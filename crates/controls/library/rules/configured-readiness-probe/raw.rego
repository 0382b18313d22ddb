package armo_builtins

import rego.v1

# Without a readiness probe, traffic is sent to a container before it can serve it and
# keeps flowing while it is unhealthy. Init containers run to completion and need none.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some c, container in spec.containers
	not container.readinessProbe
	msga := {
		"alertMessage": sprintf("%s %s: container %s has no readiness probe", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 3,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("%scontainers[%d].readinessProbe", [prefix, c]), "value": "YOUR_VALUE"}],
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
