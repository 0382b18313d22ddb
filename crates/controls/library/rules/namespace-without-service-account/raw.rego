package armo_builtins

import rego.v1

# Namespaces with no service account of their own (besides "default"): every workload
# there runs as the default service account, so permissions cannot be scoped per workload.
deny contains msga if {
	namespace := input[_]
	namespace.kind == "Namespace"
	not has_dedicated_service_account(namespace.metadata.name)

	msga := {
		"alertMessage": sprintf("Namespace %s has no dedicated service account", [namespace.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [namespace]},
	}
}

has_dedicated_service_account(namespace) if namespaces_with_service_account[namespace]

# Collected once per evaluation (package-level rules are cached) instead of scanning the
# whole input for every namespace: {namespace: true}.
namespaces_with_service_account := {namespace: true |
	sa := input[_]
	sa.kind == "ServiceAccount"
	sa.metadata.name != "default"
	namespace := object.get(sa.metadata, "namespace", "default")
}
