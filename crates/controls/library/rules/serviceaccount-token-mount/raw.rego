package armo_builtins

import rego.v1

# Workloads that mount a service-account token while that service account holds RBAC
# permissions: a compromised container can use them against the API server.
# Evaluated over all objects at once: workloads, service accounts and bindings.
deny contains msga if {
	workload := input[_]
	spec_info := pod_spec(workload)
	namespace := object.get(workload.metadata, "namespace", "default")
	sa := workload_service_account(spec_info.spec, namespace)
	finding := token_mount_finding(spec_info, sa)
	has_binding(sa)

	msga := {
		"alertMessage": sprintf("%s %s mounts the API token of service account %s, which has role bindings", [workload.kind, workload.metadata.name, sa.metadata.name]),
		"alertScore": 9,
		"reviewPaths": finding.paths,
		"failedPaths": finding.paths,
		"fixPaths": finding.fixes,
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [workload]},
		"relatedObjects": [{"object": sa, "failedPaths": null, "fixPaths": null}],
	}
}

pod_spec(workload) := {"spec": workload.spec, "path": "spec"} if workload.kind == "Pod"

pod_spec(workload) := {"spec": workload.spec.template.spec, "path": "spec.template.spec"} if {
	workload.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec(workload) := {"spec": workload.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	workload.kind == "CronJob"
}

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

# The pod explicitly asks for the token.
token_mount_finding(spec_info, _) := {"paths": [path], "fixes": []} if {
	spec_info.spec.automountServiceAccountToken == true
	path := sprintf("%s.automountServiceAccountToken", [spec_info.path])
}

# The pod is silent and the service account does not opt out, so Kubernetes mounts it.
token_mount_finding(spec_info, sa) := {"paths": [], "fixes": [{"path": path, "value": "false"}]} if {
	not "automountServiceAccountToken" in object.keys(spec_info.spec)
	not sa.automountServiceAccountToken == false
	path := sprintf("%s.automountServiceAccountToken", [spec_info.path])
}

has_binding(sa) if bound_service_accounts[object.get(sa.metadata, "namespace", "default")][sa.metadata.name]

# Service accounts named as a subject of some (cluster) role binding, collected once per
# evaluation instead of scanning the bindings for every workload: {namespace: {name: true}}.
bound_service_accounts := object.union_n([{subject.namespace: {subject.name: true}} |
	some binding in input
	endswith(binding.kind, "Binding")
	some subject in binding.subjects
	subject.kind == "ServiceAccount"
])
