package armo_builtins

import rego.v1

# Without a CPU request the scheduler cannot place the pod sensibly and the
# container gets the lowest share of CPU under contention.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in main_containers(pod)
	not entry.container.resources.requests.cpu
	msga := {
		"alertMessage": sprintf("container %v of %v %v has no CPU request", [entry.container.name, obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"reviewPaths": [],
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("%s.resources.requests.cpu", [entry.path]), "value": "YOUR_VALUE"}],
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
