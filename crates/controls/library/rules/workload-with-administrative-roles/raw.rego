package armo_builtins

import rego.v1

# Workloads whose mounted service-account token carries administrative (wildcard)
# permissions. Evaluated over all objects at once: workloads, service accounts, bindings
# and roles.
deny contains msga if {
	workload := input[_]
	spec := pod_spec(workload)
	namespace := object.get(workload.metadata, "namespace", "default")
	sa := workload_service_account(spec, namespace)
	token_mounted(spec, sa)

	some grant in admin_grants[object.get(sa.metadata, "namespace", "default")][sa.metadata.name]
	binding := grant.binding
	subject_idx := grant.subject_idx
	role := grant.role

	msga := {
		"alertMessage": sprintf("%s %s mounts the token of service account %s, which %s %s makes an administrator", [workload.kind, workload.metadata.name, sa.metadata.name, role.kind, role.metadata.name]),
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

# Administrative = every verb on every resource (of the core group or all groups).
grants_admin(rule) if {
	some group in rule.apiGroups
	group in {"", "*"}
	"*" in rule.resources
	"*" in rule.verbs
}

pod_spec(workload) := workload.spec if workload.kind == "Pod"

pod_spec(workload) := workload.spec.template.spec if {
	workload.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec(workload) := workload.spec.jobTemplate.spec.template.spec if workload.kind == "CronJob"

workload_service_account(spec, namespace) := sa if {
	name := object.get(spec, "serviceAccountName", "default")
	some sa in service_accounts[namespace][name]
}

# Service accounts indexed once per evaluation (package-level rules are cached) instead of
# scanning the whole input for every workload: {namespace: {name: {input index: sa}}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
service_accounts := object.union_n([{namespace: {sa.metadata.name: {i: sa}}} |
	some i, sa in input
	sa.kind == "ServiceAccount"
	namespace := object.get(sa.metadata, "namespace", "default")
])

# The pod's own setting wins; without one, the service account's setting applies
# (and Kubernetes mounts the token unless it says false).
token_mounted(spec, _) if spec.automountServiceAccountToken == true

token_mounted(spec, sa) if {
	not "automountServiceAccountToken" in object.keys(spec)
	not sa.automountServiceAccountToken == false
}

# Bindings whose role is administrative, computed once per evaluation (package-level rules are
# cached) rather than per workload, and indexed by the bound service account:
# {namespace: {name: {[binding index, subject index]: {"binding", "subject_idx", "role"}}}}.
admin_grants := object.union_n([{subject.namespace: {subject.name: {[i, subject_idx]: grant}}} |
	some i, binding in input
	endswith(binding.kind, "Binding")
	some subject_idx, subject in binding.subjects
	subject.kind == "ServiceAccount"
	role := bound_role(binding)
	some rule in role.rules
	grants_admin(rule)
	grant := {"binding": binding, "subject_idx": subject_idx, "role": role}
])

bound_role(binding) := role if {
	some role in roles[binding.roleRef.kind][binding.roleRef.name]
	same_scope(role, binding)
}

# Roles and cluster roles indexed once: {kind: {name: {input index: role}}}.
roles := object.union_n([{role.kind: {role.metadata.name: {i: role}}} |
	some i, role in input
	role.kind in {"Role", "ClusterRole"}
])

# A Role is only usable by bindings in its own namespace; ClusterRoles are global.
same_scope(role, _) if role.kind == "ClusterRole"

same_scope(role, binding) if {
	role.kind == "Role"
	object.get(role.metadata, "namespace", "default") == object.get(binding.metadata, "namespace", "default")
}
