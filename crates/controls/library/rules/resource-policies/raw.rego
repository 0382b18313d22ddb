package armo_builtins

import rego.v1

# Containers without CPU and memory limits can exhaust the node they run on.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in main_containers(pod)
	fixes := [fix |
		some resource in ["cpu", "memory"]
		not entry.container.resources.limits[resource]
		fix := {"path": sprintf("%s.resources.limits.%s", [entry.path, resource]), "value": "YOUR_VALUE"}
	]
	count(fixes) > 0
	msga := {
		"alertMessage": sprintf("container %v of %v %v lacks CPU or memory limits", [entry.container.name, obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": fixes,
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}

# The regular (long-running) containers of the pod template, with their paths.
main_containers(pod) := [entry |
	some i, container in object.get(pod.spec, "containers", [])
	entry := {"container": container, "path": sprintf("%s.containers[%d]", [pod.path, i])}
]
