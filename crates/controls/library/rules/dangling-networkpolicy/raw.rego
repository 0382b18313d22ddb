package armo_builtins

import rego.v1

# A NetworkPolicy whose podSelector matches no pod in its namespace protects nothing,
# usually because of a label typo or a workload that moved. An empty selector selects
# every pod of the namespace and is never dangling.
deny contains msga if {
	some policy in input
	policy.kind == "NetworkPolicy"
	selector := object.get(policy.spec, "podSelector", {})
	not selects_everything(selector)
	not selects_some_workload(policy, selector)
	msga := {
		"alertMessage": sprintf("NetworkPolicy %s selects no pods in namespace %s", [policy.metadata.name, namespace(policy)]),
		"packagename": "armo_builtins",
		"alertScore": 4,
		"failedPaths": ["spec.podSelector"],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [policy]},
	}
}

selects_everything(selector) if {
	count(object.get(selector, "matchLabels", {})) == 0
	count(object.get(selector, "matchExpressions", [])) == 0
}

selects_some_workload(policy, selector) if {
	some wl in input
	labels := pod_labels(wl)
	namespace(wl) == namespace(policy)
	selector_matches(selector, labels)
}

namespace(obj) := object.get(obj.metadata, "namespace", "default")

selector_matches(selector, labels) if {
	every key, value in object.get(selector, "matchLabels", {}) {
		labels[key] == value
	}
	every expr in object.get(selector, "matchExpressions", []) {
		expression_matches(expr, labels)
	}
}

expression_matches(expr, labels) if {
	expr.operator == "In"
	labels[expr.key] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "NotIn"
	not labels[expr.key] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "Exists"
	_ = labels[expr.key]
}

expression_matches(expr, labels) if {
	expr.operator == "DoesNotExist"
	not has_key(labels, expr.key)
}

has_key(obj, key) if _ = obj[key]

pod_labels(obj) := object.get(obj.metadata, "labels", {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(object.get(obj.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_labels(obj) := object.get(object.get(obj.spec.jobTemplate.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind == "CronJob"
}
