package armo_builtins

import rego.v1

# A controller whose selector does not match its own pod template cannot manage
# the pods it creates (the API rejects it or it keeps creating orphans).
deny contains msga if {
	obj := input[_]
	sel := selector_with_path(obj)
	labels := pod_labels(obj)
	failed := array.concat(
		[path | not match_labels_ok(sel.selector, labels); path := sprintf("%s.matchLabels", [sel.path])],
		[path | not match_expressions_ok(sel.selector, labels); path := sprintf("%s.matchExpressions", [sel.path])],
	)
	count(failed) > 0
	msga := selector_alert(obj, failed)
}

# ReplicationControllers use a plain label map as selector.
deny contains msga if {
	obj := input[_]
	obj.kind == "ReplicationController"
	selector := obj.spec.selector
	count(selector) > 0
	not labels_include(pod_labels(obj), selector)
	msga := selector_alert(obj, ["spec.selector"])
}

selector_alert(obj, failed) := {
	"alertMessage": sprintf("%v %v: the selector does not match the pod template labels", [obj.kind, obj.metadata.name]),
	"packagename": "armo_builtins",
	"alertScore": 3,
	"failedPaths": failed,
	"fixPaths": [],
	"alertObject": {"k8sApiObjects": [obj]},
}

selector_with_path(obj) := {"selector": obj.spec.selector, "path": "spec.selector"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

selector_with_path(obj) := {"selector": obj.spec.jobTemplate.spec.selector, "path": "spec.jobTemplate.spec.selector"} if {
	obj.kind == "CronJob"
}

labels_include(labels, wanted) if {
	every key, value in wanted {
		labels[key] == value
	}
}

match_labels_ok(selector, labels) if labels_include(labels, object.get(selector, "matchLabels", {}))

match_expressions_ok(selector, labels) if {
	every expression in object.get(selector, "matchExpressions", []) {
		expression_matches(expression, labels)
	}
}

expression_matches(e, labels) if {
	e.operator == "In"
	labels[e.key] in e.values
}

expression_matches(e, labels) if {
	e.operator == "NotIn"
	not labels[e.key] in e.values
}

expression_matches(e, labels) if {
	e.operator == "Exists"
	_ = labels[e.key]
}

expression_matches(e, labels) if {
	e.operator == "DoesNotExist"
	not has_label(labels, e.key)
}

has_label(labels, key) if _ = labels[key]

# Labels of the pods a workload creates.
pod_labels(obj) := object.get(obj.metadata, "labels", {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(object.get(obj.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_labels(obj) := object.get(object.get(obj.spec.jobTemplate.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind == "CronJob"
}
