package armo_builtins

import rego.v1

# A writable root filesystem lets an intruder drop tools or change binaries
# inside the container.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	not entry.container.securityContext.readOnlyRootFilesystem == true
	msga := {
		"alertMessage": sprintf("container %v of %v %v has a writable root filesystem", [entry.container.name, obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": read_only_fix(entry.path),
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# Ephemeral containers cannot be changed after creation, so no fix is offered.
read_only_fix(path) := [] if contains(path, ".ephemeralContainers[")

read_only_fix(path) := [{"path": sprintf("%s.securityContext.readOnlyRootFilesystem", [path]), "value": "true"}] if {
	not contains(path, ".ephemeralContainers[")
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
