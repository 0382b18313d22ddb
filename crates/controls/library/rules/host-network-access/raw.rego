package armo_builtins

import rego.v1

# A pod on the host network sees every interface of the node and can reach
# services bound to localhost there.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	pod.spec.hostNetwork == true
	path := sprintf("%s.hostNetwork", [pod.path])
	msga := {
		"alertMessage": sprintf("%v %v runs its pods in the host network namespace", [obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 9,
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
