package armo_builtins

import rego.v1

# Images should carry a cosign signature so their origin can be verified before they run.
# A container is reported only when the signature lookup answers "unsigned"; if the lookup
# cannot be made, nothing is concluded.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	cosign.has_signature(container.image) == false
	path := sprintf("%s%s[%d].image", [prefix, kind, c])
	msga := {
		"alertMessage": sprintf("%s %s: image %s of container %s is not signed", [wl.kind, wl.metadata.name, container.image, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [path],
		"fixPaths": [],
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
