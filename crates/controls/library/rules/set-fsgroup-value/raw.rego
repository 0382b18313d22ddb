package armo_builtins

import rego.v1

# Pod-level fsGroup makes mounted volumes group-owned by a known, non-root group so
# containers share files without running as root. It must be set to a non-negative id.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	not valid_fs_group(spec)
	msga := {
		"alertMessage": sprintf("%s %s does not set a valid securityContext.fsGroup", [wl.kind, wl.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"fixPaths": [{"path": sprintf("%ssecurityContext.fsGroup", [prefix]), "value": "YOUR_VALUE"}],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

valid_fs_group(spec) if spec.securityContext.fsGroup >= 0

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
