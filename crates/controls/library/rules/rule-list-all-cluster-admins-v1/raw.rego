package armo_builtins

import rego.v1

# Subjects with administrative (wildcard) permissions: every verb on every resource.
# Input: one entry per subject of a RoleBinding/ClusterRoleBinding, carrying the
# subject's own fields plus relatedObjects = [binding, role].

# An object rather than top-level sets: every set in this package is read as alerts.
risky := {
	"resources": {"*"},
	"api_groups": {"", "*"},
	"verbs": {"*"},
}

deny contains msga if {
	vector := input[_]
	some role_idx, role in vector.relatedObjects
	endswith(role.kind, "Role")
	some binding_idx, binding in vector.relatedObjects
	endswith(binding.kind, "Binding")
	some subject_idx, subject in binding.subjects
	same_subject(vector, subject)

	some rule_idx, rule in role.rules
	rule_path := sprintf("relatedObjects[%d].rules[%d]", [role_idx, rule_idx])
	resource_paths := matching_paths(rule_path, "resources", rule.resources, risky.resources)
	count(resource_paths) > 0
	verb_paths := matching_paths(rule_path, "verbs", rule.verbs, risky.verbs)
	count(verb_paths) > 0
	group_paths := matching_paths(rule_path, "apiGroups", rule.apiGroups, risky.api_groups)
	count(group_paths) > 0

	binding_paths := [
		sprintf("relatedObjects[%d].subjects[%d]", [binding_idx, subject_idx]),
		sprintf("relatedObjects[%d].roleRef.name", [binding_idx]),
	]
	paths := array.concat(array.concat(array.concat(resource_paths, verb_paths), group_paths), binding_paths)

	msga := {
		"alertMessage": sprintf("Subject: %s-%s has administrative (wildcard) permissions", [vector.kind, vector.name]),
		"alertScore": 3,
		"reviewPaths": paths,
		"failedPaths": paths,
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": vector},
	}
}

# The binding lists several subjects; only the entry describing this input's subject counts.
same_subject(vector, subject) if {
	vector.kind == subject.kind
	vector.name == subject.name
	object.get(vector, "namespace", "") == object.get(subject, "namespace", "")
}

matching_paths(rule_path, field, values, wanted) := [sprintf("%s.%s[%d]", [rule_path, field, n]) |
	some n, value in values
	value in wanted
]
