package armo_builtins

import rego.v1

# The k8s.gcr.io registry is frozen: it receives no new images or security fixes since
# Kubernetes moved to registry.k8s.io. Containers still pulling from it are reported with
# the equivalent registry.k8s.io image as the fix.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	startswith(container.image, "k8s.gcr.io/")
	path := sprintf("%s%s[%d].image", [prefix, kind, c])
	fixed := concat("", ["registry.k8s.io/", trim_prefix(container.image, "k8s.gcr.io/")])
	msga := {
		"alertMessage": sprintf("%s %s: container %s uses the frozen k8s.gcr.io registry (%s)", [wl.kind, wl.metadata.name, container.name, container.image]),
		"packagename": "armo_builtins",
		"alertScore": 2,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [{"path": path, "value": fixed}],
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
