package armo_builtins

import rego.v1

# A privileged container, or one granted CAP_SYS_ADMIN, has practically the same power
# as root on the node. One alert per such container, pointing at the offending settings.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	base := sprintf("%s%s[%d].securityContext", [prefix, kind, c])
	paths := array.concat(privileged_paths(container, base), sys_admin_paths(container, base))
	count(paths) > 0
	msga := {
		"alertMessage": sprintf("%s %s: container %s is privileged", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 3,
		"ruleStatus": "",
		"failedPaths": paths,
		"deletePaths": paths,
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

privileged_paths(container, base) := [sprintf("%s.privileged", [base])] if {
	container.securityContext.privileged == true
} else := []

sys_admin_paths(container, base) := [sprintf("%s.capabilities.add[%d]", [base, i]) |
	some i, cap in container.securityContext.capabilities.add
	cap == "SYS_ADMIN"
]

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
