package armo_builtins

import rego.v1

# Pods that no network policy selects can send and receive any traffic.
# A workload passes when at least one NetworkPolicy (same namespace), CiliumNetworkPolicy
# (same namespace) or CiliumClusterwideNetworkPolicy selects its pods and restricts a
# traffic direction.
deny contains msga if {
	some wl in input
	labels := pod_labels(wl)
	not restricted_by_any_policy(wl, labels)
	msga := {
		"alertMessage": sprintf("%s %s is not selected by any network policy restricting its ingress or egress", [wl.kind, wl.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

# Checking every policy of the input for every workload is quadratic, so the
# distinct restricting pod selectors are collected once per evaluation (package-level
# rules are cached), grouped by namespace: {namespace: {selector: true}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
restricted_by_any_policy(wl, labels) if {
	some selector, _ in object.get(namespaced_selectors, namespace(wl), {})
	selector_matches(selector, labels)
}

restricted_by_any_policy(_, labels) if {
	some selector, _ in clusterwide_selectors
	selector_matches(selector, labels)
}

namespaced_selectors := object.union_n([{namespace(policy): {selector: true}} |
	some policy in input
	some selector in restricting_selectors(policy)
])

clusterwide_selectors := {selector: true |
	some policy in input
	policy.kind == "CiliumClusterwideNetworkPolicy"
	some rule in cilium_rules(policy)
	some selector in cilium_restricting_selector(rule)
}

# A NetworkPolicy always restricts at least ingress (the default policy type).
restricting_selectors(policy) := [object.get(policy.spec, "podSelector", {})] if policy.kind == "NetworkPolicy"

restricting_selectors(policy) := [selector |
	some rule in cilium_rules(policy)
	some selector in cilium_restricting_selector(rule)
] if policy.kind == "CiliumNetworkPolicy"

# The endpoint selector of a Cilium rule that restricts some traffic direction
# (a one-element list, empty when the rule restricts nothing).
cilium_restricting_selector(rule) := [object.get(rule, "endpointSelector", {})] if {
	some direction in ["ingress", "egress", "ingressDeny", "egressDeny"]
	_ = rule[direction]
} else := []

# Cilium policies carry one rule in spec and/or a list in specs.
cilium_rules(policy) := array.concat([r | r := policy.spec], object.get(policy, "specs", []))

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
