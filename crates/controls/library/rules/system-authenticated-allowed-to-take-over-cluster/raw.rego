package armo_builtins

import rego.v1

# Bindings that give every authenticated identity (group system:authenticated, which
# includes all service accounts) permissions that lead to cluster takeover.
# Input: one entry per subject of a RoleBinding/ClusterRoleBinding, carrying the
# subject's own fields plus relatedObjects = [binding, role].
deny contains msga if {
	vector := input[_]
	vector.kind == "Group"
	vector.name == "system:authenticated"
	some role_idx, role in vector.relatedObjects
	endswith(role.kind, "Role")
	some binding_idx, binding in vector.relatedObjects
	endswith(binding.kind, "Binding")
	some subject_idx, subject in binding.subjects
	subject.kind == vector.kind
	subject.name == vector.name
	some rule in role.rules
	grants_takeover(rule)

	# Path layout kept identical to the established output of this check.
	paths := [
		"",
		sprintf("relatedObjects[%d].subjects[%d]", [binding_idx, subject_idx]),
		sprintf("relatedObjects[%d].roleRef.name", [role_idx]),
	]
	msga := {
		"alertMessage": sprintf("%s %s grants system:authenticated the permissions of %s %s, enough to take over the cluster", [binding.kind, binding.metadata.name, role.kind, role.metadata.name]),
		"alertScore": 5,
		"reviewPaths": paths,
		"failedPaths": paths,
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [], "externalObjects": vector},
	}
}

# Permission groups that each, on their own, open a path to full control of the cluster.
takeover_permissions := {
	"run workloads": {
		"api_groups": {"", "apps", "batch", "*"},
		"resources": {"pods", "deployments", "daemonsets", "statefulsets", "replicasets", "replicationcontrollers", "jobs", "cronjobs", "*"},
		"verbs": {"create", "update", "patch", "*"},
	},
	"read secrets": {
		"api_groups": {"", "*"},
		"resources": {"secrets", "*"},
		"verbs": {"get", "list", "watch", "*"},
	},
	"exec into pods": {
		"api_groups": {"", "*"},
		"resources": {"pods/exec", "pods/attach", "pods/*", "*"},
		"verbs": {"create", "get", "*"},
	},
	"reach kubelets": {
		"api_groups": {"", "*"},
		"resources": {"nodes/proxy", "nodes/*", "*"},
		"verbs": {"get", "create", "*"},
	},
	"mint tokens": {
		"api_groups": {"", "*"},
		"resources": {"serviceaccounts/token", "serviceaccounts/*", "*"},
		"verbs": {"create", "*"},
	},
	"rewrite roles": {
		"api_groups": {"rbac.authorization.k8s.io", "*"},
		"resources": {"roles", "clusterroles", "*"},
		"verbs": {"escalate", "bind", "*"},
	},
	"rewrite bindings": {
		"api_groups": {"rbac.authorization.k8s.io", "*"},
		"resources": {"rolebindings", "clusterrolebindings", "*"},
		"verbs": {"create", "update", "patch", "*"},
	},
	"impersonate": {
		"api_groups": {"", "*"},
		"resources": {"users", "groups", "serviceaccounts", "*"},
		"verbs": {"impersonate", "*"},
	},
}

grants_takeover(rule) if {
	some permission in takeover_permissions
	some group in rule.apiGroups
	group in permission.api_groups
	some resource in rule.resources
	resource in permission.resources
	some verb in rule.verbs
	verb in permission.verbs
}
