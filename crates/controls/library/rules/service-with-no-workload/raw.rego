package armo_builtins

import rego.v1

# A Service whose selector matches no workload sends traffic nowhere; it is
# usually a leftover or a label typo, and may later capture unintended pods.
deny contains msga if {
	service := input[_]
	service.kind == "Service"
	selector := service.spec.selector
	count(selector) > 0
	not selects_some_workload(service, selector)
	msga := {
		"alertMessage": sprintf("Service %v selects no workload in namespace %v", [service.metadata.name, namespace_of(service)]),
		"packagename": "armo_builtins",
		"alertScore": 3,
		"failedPaths": ["spec.selector"],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [service]},
	}
}

# Only workloads carrying one of the selector's labels can match, so those are looked
# up in an index instead of scanning the whole input for every service.
selects_some_workload(service, selector) if {
	some key, value in selector
	some labels in workloads_by_label[namespace_of(service)][key][value]
	selector_matches(selector, labels)
}

# Pod labels of every workload, indexed once per evaluation (package-level rules are
# cached) as {namespace: {label key: {label value: {input index: pod labels}}}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
workloads_by_label := object.union_n([{namespace_of(obj): {key: {value: {i: labels}}}} |
	some i, obj in input
	pod_spec_with_path(obj)
	labels := pod_labels(obj)
	some key, value in labels
])

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}

# Labels of the pods a workload creates.
pod_labels(obj) := object.get(obj.metadata, "labels", {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(object.get(obj.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_labels(obj) := object.get(object.get(obj.spec.jobTemplate.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind == "CronJob"
}

namespace_of(obj) := object.get(obj.metadata, "namespace", "default")

# A non-empty selector matches when every one of its labels is present.
selector_matches(selector, labels) if {
	count(selector) > 0
	every key, value in selector {
		labels[key] == value
	}
}
