package armo_builtins

import rego.v1

# A workload naming a ServiceAccount that does not exist in its namespace cannot start
# pods, or will silently pick up the account if someone creates it later with other rights.
# The namespace's "default" account always exists.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some field in ["serviceAccountName", "serviceAccount"]
	name := spec[field]
	not other_field_takes_precedence(spec, field)
	name != "default"
	not account_exists(name, namespace(wl))
	msga := {
		"alertMessage": sprintf("%s %s uses ServiceAccount %s, which does not exist in namespace %s", [wl.kind, wl.metadata.name, name, namespace(wl)]),
		"packagename": "armo_builtins",
		"alertScore": 5,
		"failedPaths": [sprintf("%s%s", [prefix, field])],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

# serviceAccount is the deprecated alias; serviceAccountName wins when both are set.
other_field_takes_precedence(spec, "serviceAccount") if spec.serviceAccountName

account_exists(name, ns) if service_accounts[ns][name]

# Service accounts collected once per evaluation (package-level rules are cached) instead of
# scanning the whole input for every workload: {namespace: {name: true}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
service_accounts := object.union_n([{namespace(sa): {sa.metadata.name: true}} |
	some sa in input
	sa.kind == "ServiceAccount"
])

namespace(obj) := object.get(obj.metadata, "namespace", "default")

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
