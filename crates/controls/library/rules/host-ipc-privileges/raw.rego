package armo_builtins

import rego.v1

# Sharing the host IPC namespace lets the pod read and write the shared memory
# of every process on the node.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	pod.spec.hostIPC == true
	path := sprintf("%s.hostIPC", [pod.path])
	msga := {
		"alertMessage": sprintf("%v %v shares the host IPC namespace", [obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": ipc_score(obj),
		"ruleStatus": "",
		"deletePaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

ipc_score(obj) := 7 if obj.kind == "Pod"

ipc_score(obj) := 9 if obj.kind != "Pod"

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}
