package armo_builtins

import rego.v1

# Any hostPath volume that a container actually mounts exposes the node's filesystem.
# One alert per such volume, listing the volume and every mount of it.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some v, volume in spec.volumes
	volume.hostPath
	mounts := mount_paths(spec, prefix, volume.name)
	count(mounts) > 0
	paths := array.concat([sprintf("%svolumes[%d]", [prefix, v])], mounts)
	msga := {
		"alertMessage": sprintf("%s %s mounts the hostPath volume %s", [wl.kind, wl.metadata.name, volume.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": paths,
		"deletePaths": paths,
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

mount_paths(spec, prefix, name) := [path |
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	some m, mount in container.volumeMounts
	mount.name == name
	path := sprintf("%s%s[%d].volumeMounts[%d]", [prefix, kind, c, m])
]

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
