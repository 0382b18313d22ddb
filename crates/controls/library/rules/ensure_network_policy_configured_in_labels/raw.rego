package armo_builtins

import rego.v1

# A workload whose pods are selected by no network policy accepts any traffic.
# Kubernetes NetworkPolicies, CiliumNetworkPolicies (same namespace) and
# CiliumClusterwideNetworkPolicies (any namespace) are all taken into account.

deny contains msga if {
	not cilium_in_use
	some wl in input
	labels := pod_labels(wl)
	not selected_by_any_policy(wl, labels)
	msga := {
		"alertMessage": sprintf("%s %s is not selected by any network policy", [wl.kind, wl.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 0,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

deny contains msga if {
	cilium_in_use
	some wl in input
	labels := pod_labels(wl)
	not selected_by_any_policy(wl, labels)
	msga := {
		"alertMessage": sprintf("%s %s is not selected by any network policy", [wl.kind, wl.metadata.name]),
		"packagename": "armo_builtins",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

cilium_in_use if {
	some obj in input
	obj.kind in {"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"}
}

# Checking every policy of the input for every workload is quadratic, so the
# distinct pod selectors are collected once per evaluation (package-level rules are
# cached), grouped by namespace: {namespace: {selector: true}}. object.union_n merges
# the one-entry objects recursively, which groups without conflicts.
selected_by_any_policy(wl, labels) if {
	some selector, _ in object.get(namespaced_selectors, namespace(wl), {})
	selector_matches(selector, labels)
}

selected_by_any_policy(_, labels) if {
	some selector, _ in clusterwide_selectors
	selector_matches(selector, labels)
}

namespaced_selectors := object.union_n([{namespace(policy): {selector: true}} |
	some policy in input
	some selector in namespaced_policy_selectors(policy)
])

namespaced_policy_selectors(policy) := [object.get(policy.spec, "podSelector", {})] if policy.kind == "NetworkPolicy"

namespaced_policy_selectors(policy) := [cilium_selector(rule) | some rule in cilium_rules(policy)] if {
	policy.kind == "CiliumNetworkPolicy"
}

clusterwide_selectors := {selector: true |
	some policy in input
	policy.kind == "CiliumClusterwideNetworkPolicy"
	some rule in cilium_rules(policy)
	selector := cilium_selector(rule)
}

# Cilium policies carry one rule in spec and/or a list in specs.
cilium_rules(policy) := array.concat([r | r := policy.spec], object.get(policy, "specs", []))

cilium_selector(rule) := object.get(rule, "endpointSelector", {})

namespace(obj) := object.get(obj.metadata, "namespace", "default")

selector_matches(selector, labels) if {
	every key, value in object.get(selector, "matchLabels", {}) {
		labels[plain_key(key)] == value
	}
	every expr in object.get(selector, "matchExpressions", []) {
		expression_matches(expr, labels)
	}
}

# Cilium allows source prefixes on label keys ("k8s:app").
plain_key(key) := substring(key, 4, -1) if {
	some p in ["k8s:", "any:"]
	startswith(key, p)
} else := key

expression_matches(expr, labels) if {
	expr.operator == "In"
	labels[plain_key(expr.key)] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "NotIn"
	not labels[plain_key(expr.key)] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "Exists"
	_ = labels[plain_key(expr.key)]
}

expression_matches(expr, labels) if {
	expr.operator == "DoesNotExist"
	not has_key(labels, plain_key(expr.key))
}

has_key(obj, key) if _ = obj[key]

pod_labels(obj) := object.get(obj.metadata, "labels", {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(object.get(obj.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_labels(obj) := object.get(object.get(obj.spec.jobTemplate.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind == "CronJob"
}
