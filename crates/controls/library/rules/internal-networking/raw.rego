package armo_builtins

import rego.v1

# Namespaces that no network policy applies to: their pods accept traffic from, and send
# traffic to, anything in the cluster. Kubernetes NetworkPolicies and Cilium policies
# (namespaced, or clusterwide policies selecting every endpoint) both count.
deny contains msga if {
	namespace := input[_]
	namespace.kind == "Namespace"
	not has_namespaced_policy(namespace.metadata.name)
	not has_clusterwide_policy

	msga := {
		"alertMessage": sprintf("No network policy applies to namespace %s", [namespace.metadata.name]),
		"alertScore": 9,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [namespace]},
	}
}

has_namespaced_policy(name) if namespaces_with_policy[name]

# Collected once per evaluation (package-level rules are cached) instead of scanning the
# whole input for every namespace: {namespace: true}.
namespaces_with_policy := {name: true |
	policy := input[_]
	policy.kind in {"NetworkPolicy", "CiliumNetworkPolicy"}
	name := policy.metadata.namespace
}

# A clusterwide Cilium policy covers every namespace only when it selects all endpoints.
has_clusterwide_policy if {
	policy := input[_]
	policy.kind == "CiliumClusterwideNetworkPolicy"
	selects_all_endpoints(policy.spec.endpointSelector)
}

has_clusterwide_policy if {
	policy := input[_]
	policy.kind == "CiliumClusterwideNetworkPolicy"
	some rule in policy.specs
	selects_all_endpoints(rule.endpointSelector)
}

selects_all_endpoints(selector) if {
	count(object.get(selector, "matchLabels", {})) == 0
	count(object.get(selector, "matchExpressions", [])) == 0
}
