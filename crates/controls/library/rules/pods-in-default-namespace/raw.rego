package armo_builtins

import rego.v1

# The default namespace is shared by everything deployed without thought;
# workloads should live in namespaces with their own policies and quotas.
deny contains msga if {
	obj := input[_]
	pod_spec_with_path(obj)
	obj.metadata.namespace == "default"
	msga := default_namespace_alert(obj, ["metadata.namespace"], [])
}

# No namespace at all: it lands in "default" when applied.
deny contains msga if {
	obj := input[_]
	pod_spec_with_path(obj)
	not obj.metadata.namespace
	msga := default_namespace_alert(obj, [], [{"path": "metadata.namespace", "value": "YOUR_NAMESPACE"}])
}

default_namespace_alert(obj, review, fixes) := {
	"alertMessage": sprintf("%v %v runs in the default namespace", [obj.kind, obj.metadata.name]),
	"packagename": "armo_builtins",
	"alertScore": 3,
	"ruleStatus": "",
	"reviewPaths": review,
	"failedPaths": review,
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
