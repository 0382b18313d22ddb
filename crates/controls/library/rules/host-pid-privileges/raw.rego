package armo_builtins

import rego.v1

# Sharing the host PID namespace lets containers see, signal and ptrace host processes.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some field in ["hostPID"]
	spec[field] == true
	path := sprintf("%s%s", [prefix, field])
	msga := {
		"alertMessage": sprintf("%s %s sets %s: true", [wl.kind, wl.metadata.name, field]),
		"packagename": "armo_builtins",
		"alertScore": score(wl),
		"ruleStatus": "",
		"failedPaths": [path],
		"deletePaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

# Controllers multiply the exposure over every replica they create.
score(wl) := 7 if wl.kind == "Pod"

score(wl) := 9 if wl.kind != "Pod"

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
