package armo_builtins

import rego.v1

# When a container lists the same environment variable twice only the last
# value takes effect, which hides configuration mistakes.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	some k, env in entry.container.env
	count([1 | some other in entry.container.env; other.name == env.name]) > 1
	msga := {
		"alertMessage": sprintf("%v %v: container %v defines environment variable %v more than once", [obj.kind, obj.metadata.name, entry.container.name, env.name]),
		"packagename": "armo_builtins",
		"alertScore": 3,
		"failedPaths": [sprintf("%s.env[%d].name", [entry.path, k])],
		"fixPaths": [],
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

# Every container of the pod template (regular, init and ephemeral), with its path.
pod_containers(pod) := [entry |
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some i, container in object.get(pod.spec, field, [])
	entry := {"container": container, "path": sprintf("%s.%s[%d]", [pod.path, field, i])}
]
