package armo_builtins

import rego.v1

# SELinux options give a container an explicit SELinux context (label/level) instead of
# whatever the runtime assigns. Set them per container or once for the pod.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	not spec.securityContext.seLinuxOptions
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	not container.securityContext.seLinuxOptions
	path := sprintf("%s%s[%d].securityContext.seLinuxOptions", [prefix, kind, c])
	msga := {
		"alertMessage": sprintf("%s %s: container %s has no SELinux options", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": path, "value": "YOUR_VALUE"}],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
