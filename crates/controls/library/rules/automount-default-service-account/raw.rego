package armo_builtins

import rego.v1

# A namespace's "default" service account is used by every pod that names no other one;
# unless it opts out of token automounting, all those pods get an API token.
deny contains msga if {
	sa := input[_]
	sa.kind == "ServiceAccount"
	sa.metadata.name == "default"
	not sa.automountServiceAccountToken == false

	fix := [{"path": "automountServiceAccountToken", "value": "false"}]
	msga := {
		"alertMessage": sprintf("The default service account of namespace %s automounts its token", [object.get(sa.metadata, "namespace", "default")]),
		"alertScore": 9,
		"deletePaths": [],
		"failedPaths": explicit_true_paths(sa),
		"fixPaths": fix,
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [sa]},
	}
}

explicit_true_paths(sa) := ["automountServiceAccountToken"] if {
	sa.automountServiceAccountToken == true
} else := []
