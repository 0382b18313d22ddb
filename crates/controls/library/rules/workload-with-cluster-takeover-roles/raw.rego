package armo_builtins

import rego.v1

# Workloads whose mounted service-account token carries permissions that are enough to
# take over the cluster (start new pods, read secrets, rewrite RBAC, ...). Evaluated over
# all objects at once: workloads, service accounts, bindings and roles.
deny contains msga if {
	workload := input[_]
	spec := pod_spec(workload)
	namespace := object.get(workload.metadata, "namespace", "default")
	sa := workload_service_account(spec, namespace)
	token_mounted(spec, sa)

	binding := input[_]
	endswith(binding.kind, "Binding")
	some subject_idx, subject in binding.subjects
	is_service_account_subject(subject, sa)
	role := bound_role(binding)
	some rule in role.rules
	grants_takeover(rule)

	msga := {
		"alertMessage": sprintf("%s %s mounts the token of service account %s, which %s %s lets take over the cluster", [workload.kind, workload.metadata.name, sa.metadata.name, role.kind, role.metadata.name]),
		"alertScore": 9,
		"failedPaths": null,
		"reviewPaths": null,
		"deletePaths": null,
		"fixPaths": null,
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [workload]},
		"relatedObjects": [
			related(sa, null),
			related(binding, [sprintf("subjects[%d]", [subject_idx])]),
			related(role, null),
		],
	}
}

related(obj, delete_paths) := {
	"object": obj,
	"failedPaths": null,
	"reviewPaths": null,
	"deletePaths": delete_paths,
	"fixPaths": null,
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

pod_spec(workload) := workload.spec if workload.kind == "Pod"

pod_spec(workload) := workload.spec.template.spec if {
	workload.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec(workload) := workload.spec.jobTemplate.spec.template.spec if workload.kind == "CronJob"

workload_service_account(spec, namespace) := sa if {
	name := object.get(spec, "serviceAccountName", "default")
	sa := input[_]
	sa.kind == "ServiceAccount"
	sa.metadata.name == name
	object.get(sa.metadata, "namespace", "default") == namespace
}

# The pod's own setting wins; without one, the service account's setting applies
# (and Kubernetes mounts the token unless it says false).
token_mounted(spec, _) if spec.automountServiceAccountToken == true

token_mounted(spec, sa) if {
	not "automountServiceAccountToken" in object.keys(spec)
	not sa.automountServiceAccountToken == false
}

is_service_account_subject(subject, sa) if {
	subject.kind == "ServiceAccount"
	subject.name == sa.metadata.name
	subject.namespace == object.get(sa.metadata, "namespace", "default")
}

bound_role(binding) := role if {
	role := input[_]
	role.kind == binding.roleRef.kind
	role.metadata.name == binding.roleRef.name
	same_scope(role, binding)
}

# A Role is only usable by bindings in its own namespace; ClusterRoles are global.
same_scope(role, _) if role.kind == "ClusterRole"

same_scope(role, binding) if {
	role.kind == "Role"
	object.get(role.metadata, "namespace", "default") == object.get(binding.metadata, "namespace", "default")
}
