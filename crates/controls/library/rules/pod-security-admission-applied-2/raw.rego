package armo_builtins

import rego.v1

# Namespaces where Pod Security Admission enforces nothing (no
# pod-security.kubernetes.io/enforce label), unless a mutating admission webhook
# that reviews pod creation in namespaces (an external policy engine) is present.
deny contains msga if {
	namespace := input[_]
	namespace.kind == "Namespace"
	not namespace.metadata.labels["pod-security.kubernetes.io/enforce"]
	not has_pod_policy_webhook

	msga := {
		"alertMessage": sprintf("Namespace %s has no pod security enforcement", [namespace.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": "metadata.labels[pod-security.kubernetes.io/enforce]", "value": "YOUR_VALUE"}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [namespace]},
	}
}

has_pod_policy_webhook if {
	config := input[_]
	config.kind == "MutatingWebhookConfiguration"
	some webhook in config.webhooks
	some rule in webhook.rules
	reviews_pod_creation(rule)
}

# Pods are namespaced: a rule scoped to "Cluster" never sees them ("*" is the default).
reviews_pod_creation(rule) if {
	some group in rule.apiGroups
	group in {"", "*"}
	some resource in rule.resources
	resource in {"pods", "*"}
	some operation in rule.operations
	operation in {"CREATE", "*"}
	object.get(rule, "scope", "*") in {"Namespaced", "*"}
}
