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
