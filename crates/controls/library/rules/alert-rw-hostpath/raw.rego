package armo_builtins

import rego.v1

# A hostPath volume mounted without readOnly: true lets the container write to the node.
# One alert per writable mount; the fix is to set readOnly on that mount.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some volume in spec.volumes
	volume.hostPath
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	some m, mount in container.volumeMounts
	mount.name == volume.name
	not mount.readOnly == true
	msga := {
		"alertMessage": sprintf("%s %s: container %s mounts hostPath volume %s writable", [wl.kind, wl.metadata.name, container.name, volume.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"fixPaths": [{"path": sprintf("%s%s[%d].volumeMounts[%d].readOnly", [prefix, kind, c, m]), "value": "true"}],
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
