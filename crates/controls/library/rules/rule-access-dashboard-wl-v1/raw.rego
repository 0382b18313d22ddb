package armo_builtins

import rego.v1

# Workloads other than the dashboard itself that run as the dashboard's service
# account inherit its (often broad) cluster permissions.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	pod.spec.serviceAccountName == "kubernetes-dashboard"
	not startswith(obj.metadata.name, "kubernetes-dashboard")
	path := sprintf("%s.serviceAccountName", [pod.path])
	msga := {
		"alertMessage": sprintf("%v %v runs as the kubernetes-dashboard service account", [obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"deletePaths": [path],
		"failedPaths": [path],
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
