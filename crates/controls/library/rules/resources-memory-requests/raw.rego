package armo_builtins

import rego.v1

# Without a memory request the scheduler may overcommit the node and the
# container is among the first evicted under memory pressure.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in main_containers(pod)
	not entry.container.resources.requests.memory
	msga := {
		"alertMessage": sprintf("container %v of %v %v has no memory request", [entry.container.name, obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("%s.resources.requests.memory", [entry.path]), "value": "YOUR_VALUE"}],
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
