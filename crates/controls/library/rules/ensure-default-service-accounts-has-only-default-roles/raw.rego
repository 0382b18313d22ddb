package armo_builtins

import rego.v1

# Bindings that give extra permissions to a namespace's "default" service account, which
# every pod without an explicit service account runs as.
deny contains msga if {
	binding := input[_]
	endswith(binding.kind, "Binding")
	not is_bootstrap_default(binding)
	some i, subject in binding.subjects
	subject.kind == "ServiceAccount"
	subject.name == "default"

	path := sprintf("subjects[%d]", [i])
	msga := {
		"alertMessage": sprintf("%s %s grants permissions to the default service account of namespace %s", [binding.kind, binding.metadata.name, object.get(subject, "namespace", "")]),
		"alertScore": 7,
		"deletePaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [binding]},
	}
}

# Bindings shipped with Kubernetes itself are the "default roles" this check tolerates.
is_bootstrap_default(binding) if {
	binding.metadata.labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
}
