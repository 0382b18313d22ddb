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

# Scanning the whole input for every policy is quadratic, so the workloads' pod labels are
# indexed once per evaluation (package-level rules are cached). With matchLabels, only
# workloads carrying one of those labels are candidates; otherwise all of the namespace.
selects_some_workload(policy, selector) if {
	some key, value in object.get(selector, "matchLabels", {})
	some labels in workload_labels.by_label[namespace(policy)][key][value]
	selector_matches(selector, labels)
}

selects_some_workload(policy, selector) if {
	count(object.get(selector, "matchLabels", {})) == 0
	some labels in workload_labels.by_namespace[namespace(policy)]
	selector_matches(selector, labels)
}

# {"by_label": {namespace: {label key: {label value: {input index: pod labels}}}},
#  "by_namespace": {namespace: {input index: pod labels}}}
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
# Package-level rules are all evaluated, so this is only built when a policy needs it.
workload_labels := {
	"by_label": object.union_n([{namespace(wl): {key: {value: {i: labels}}}} |
		some i, wl in input
		labels := pod_labels(wl)
		some key, value in labels
	]),
	"by_namespace": object.union_n([{namespace(wl): {i: labels}} |
		some i, wl in input
		labels := pod_labels(wl)
	]),
} if {
	some policy in input
	policy.kind == "NetworkPolicy"
	not selects_everything(object.get(policy.spec, "podSelector", {}))
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
