package armo_builtins

import rego.v1

# Namespaces where Pod Security Admission does not enforce at least the "restricted"
# Pod Security Standard (pod-security.kubernetes.io/enforce label).
deny contains msga if {
	namespace := input[_]
	namespace.kind == "Namespace"
	not enforces_restricted(namespace)

	msga := {
		"alertMessage": sprintf("Namespace %s does not enforce the restricted pod security standard", [namespace.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": "metadata.labels[pod-security.kubernetes.io/enforce]", "value": "restricted"}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [namespace]},
	}
}

enforces_restricted(namespace) if {
	namespace.metadata.labels["pod-security.kubernetes.io/enforce"] in {"restricted"}
}
