package armo_builtins

import rego.v1

# Without a seccomp profile a container may call every system call of the
# kernel, which widens the attack surface for container escapes.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	not pod.spec.securityContext.seccompProfile
	some entry in main_containers(pod)
	not entry.container.securityContext.seccompProfile
	msga := {
		"alertMessage": sprintf("%v %v: container %v has no seccomp profile", [obj.kind, obj.metadata.name, entry.container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("%s.securityContext.seccompProfile", [entry.path]), "value": "YOUR_VALUE"}],
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
