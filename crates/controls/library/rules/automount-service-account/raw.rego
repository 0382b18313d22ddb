package armo_builtins

import rego.v1

# A pod that mounts its service-account token hands API credentials to every
# process in it; the token should only be mounted where it is needed.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	pod.spec.automountServiceAccountToken == true
	path := sprintf("%s.automountServiceAccountToken", [pod.path])
	msga := automount_alert(obj, path, [path])
}

# Not set on the pod: the service account decides, and it mounts unless it opts out.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	not has_key(pod.spec, "automountServiceAccountToken")
	not service_account_opts_out(pod.spec, object.get(obj.metadata, "namespace", "default"))
	path := sprintf("%s.automountServiceAccountToken", [pod.path])
	msga := automount_alert(obj, path, [])
}

automount_alert(obj, path, failed) := {
	"alertMessage": sprintf("%v %v mounts a service account token", [obj.kind, obj.metadata.name]),
	"packagename": "armo_builtins",
	"alertScore": alert_score(obj),
	"ruleStatus": "",
	"failedPaths": failed,
	"fixPaths": [{"path": path, "value": "false"}],
	"alertObject": {"k8sApiObjects": [obj]},
}

alert_score(obj) := 9 if obj.kind == "Pod"

alert_score(obj) := 7 if obj.kind != "Pod"

has_key(obj, key) if _ = obj[key]

service_account_opts_out(spec, namespace) if {
	name := object.get(spec, "serviceAccountName", "default")
	some sa in service_accounts[namespace][name]
	sa.automountServiceAccountToken == false
}

# Service accounts indexed once per evaluation (package-level rules are cached) instead of
# scanning the whole input for every workload: {namespace: {name: {input index: sa}}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
service_accounts := object.union_n([{namespace: {sa.metadata.name: {i: sa}}} |
	some i, sa in input
	sa.kind == "ServiceAccount"
	namespace := object.get(sa.metadata, "namespace", "default")
])

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}
