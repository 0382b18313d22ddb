package armo_builtins

import rego.v1

# Bindings that grant permissions to unauthenticated callers (system:anonymous or
# system:unauthenticated): anyone who can reach the API server gets those permissions.
deny contains msga if {
	binding := input[_]
	endswith(binding.kind, "Binding")
	some i, subject in binding.subjects
	subject.name in {"system:anonymous", "system:unauthenticated"}

	path := sprintf("subjects[%d]", [i])
	msga := {
		"alertMessage": sprintf("%s %s grants permissions to %s", [binding.kind, binding.metadata.name, subject.name]),
		"alertScore": 9,
		"deletePaths": [path],
		"failedPaths": [path],
		"fixPaths": null,
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [binding]},
	}
}
