package armo_builtins

import rego.v1

# Supplemental group 0 (root) gives the pod's processes access to files owned
# by the root group.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	0 in pod.spec.securityContext.supplementalGroups
	path := sprintf("%s.securityContext.supplementalGroups", [pod.path])
	msga := {
		"alertMessage": sprintf("%v %v adds the root group (0) to its supplemental groups", [obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"failedPaths": [path],
		"fixPaths": [{"path": path, "value": "REMOVE_GROUP_0"}],
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
