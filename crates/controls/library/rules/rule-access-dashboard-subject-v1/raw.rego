package armo_builtins

import rego.v1

# Subjects bound to the Kubernetes dashboard's role: the dashboard's permissions
# become theirs.
# Input: one entry per subject of a RoleBinding/ClusterRoleBinding, carrying the
# subject's own fields plus relatedObjects = [binding, role].
deny contains msga if {
	vector := input[_]
	some binding_idx, binding in vector.relatedObjects
	endswith(binding.kind, "Binding")
	binding.roleRef.name == "kubernetes-dashboard"
	some subject_idx, subject in binding.subjects
	same_subject(vector, subject)

	paths := [
		sprintf("relatedObjects[%d].subjects[%d]", [binding_idx, subject_idx]),
		sprintf("relatedObjects[%d].roleRef.name", [binding_idx]),
	]
	msga := {
		"alertMessage": sprintf("Subject: %s-%s is bound to the kubernetes-dashboard role", [vector.kind, vector.name]),
		"alertScore": 9,
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
