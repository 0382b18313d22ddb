package armo_builtins

import rego.v1

# spec.serviceAccount is a deprecated alias of spec.serviceAccountName.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	old := pod.spec.serviceAccount
	not pod.spec.serviceAccountName
	path := sprintf("%s.serviceAccount", [pod.path])
	msga := deprecated_alert(obj, path, [{"path": sprintf("%s.serviceAccountName", [pod.path]), "value": old}], sprintf("uses the deprecated field serviceAccount (%v); use serviceAccountName", [old]))
}

# Both set with different values: which one wins is confusing, so the old one should go.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	old := pod.spec.serviceAccount
	current := pod.spec.serviceAccountName
	old != current
	path := sprintf("%s.serviceAccount", [pod.path])
	msga := deprecated_alert(obj, path, [], sprintf("sets serviceAccount (%v) and serviceAccountName (%v) to different values", [old, current]))
}

deprecated_alert(obj, path, fixes, problem) := {
	"alertMessage": sprintf("%v %v %v", [obj.kind, obj.metadata.name, problem]),
	"packagename": "armo_builtins",
	"alertScore": 3,
	"failedPaths": [path],
	"deletePaths": [path],
	"fixPaths": fixes,
	"alertObject": {"k8sApiObjects": [obj]},
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

# Ephemeral containers cannot be edited once added, so no fix or delete is offered for them.
is_ephemeral(path) if contains(path, ".ephemeralContainers[")

# The regular (long-running) containers of the pod template, with their paths.
main_containers(pod) := [entry |
	some i, container in object.get(pod.spec, "containers", [])
	entry := {"container": container, "path": sprintf("%s.containers[%d]", [pod.path, i])}
]

# Regular and init containers of the pod template, with their paths.
app_and_init_containers(pod) := [entry |
	some field in ["containers", "initContainers"]
	some i, container in object.get(pod.spec, field, [])
	entry := {"container": container, "path": sprintf("%s.%s[%d]", [pod.path, field, i])}
]
