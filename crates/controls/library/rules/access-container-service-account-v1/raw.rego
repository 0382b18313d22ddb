package armo_builtins

import rego.v1

# Service accounts that are bound to a Role or ClusterRole: their tokens, mounted in
# pods, carry those permissions to whoever compromises a container.
# Input: one entry per subject of a RoleBinding/ClusterRoleBinding, carrying the
# subject's own fields plus relatedObjects = [binding, role].
deny contains msga if {
	vector := input[_]
	vector.kind == "ServiceAccount"
	some role in vector.relatedObjects
	endswith(role.kind, "Role")
	some binding in vector.relatedObjects
	endswith(binding.kind, "Binding")

	msga := {
		"alertMessage": sprintf("ServiceAccount %s is granted permissions through %s %s", [vector.name, binding.kind, binding.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": vector},
	}
}
