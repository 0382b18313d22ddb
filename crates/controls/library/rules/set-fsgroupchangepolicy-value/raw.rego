package armo_builtins

import rego.v1

# fsGroupChangePolicy should be set explicitly to "Always" so volume ownership
# is always reconciled with the pod's fsGroup.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	not pod.spec.securityContext.fsGroupChangePolicy == "Always"
	msga := {
		"alertMessage": sprintf("%v %v does not set securityContext.fsGroupChangePolicy to Always", [obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("%s.securityContext.fsGroupChangePolicy", [pod.path]), "value": "Always"}],
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
