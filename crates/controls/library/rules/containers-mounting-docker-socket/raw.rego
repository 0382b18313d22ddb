package armo_builtins

import rego.v1

# The container runtime's socket gives full control over every container on
# the node, so mounting it is equivalent to node root access.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some v, volume in pod.spec.volumes
	is_runtime_socket_path(volume.hostPath.path)
	mounts := [sprintf("%s.volumeMounts[%d]", [entry.path, m]) |
		some entry in app_and_init_containers(pod)
		some m, mount in entry.container.volumeMounts
		mount.name == volume.name
	]
	paths := array.concat([sprintf("%s.volumes[%d]", [pod.path, v])], mounts)
	msga := {
		"alertMessage": sprintf("volume %v of %v %v mounts the container runtime socket %v", [volume.name, obj.kind, obj.metadata.name, volume.hostPath.path]),
		"packagename": "armo_builtins",
		"alertScore": 5,
		"ruleStatus": "",
		"deletePaths": paths,
		"failedPaths": paths,
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# Docker, containerd and CRI-O runtime directories and sockets.
is_runtime_socket_path(path) if {
	regex.match(`^(/var)?/run/(docker|containerd|crio|cri-dockerd)(/|\.sock$|$)`, path)
}

is_runtime_socket_path(path) if {
	regex.match(`(docker|containerd|crio|cri-dockerd)\.sock/?$`, path)
}

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}

# Regular and init containers of the pod template, with their paths.
app_and_init_containers(pod) := [entry |
	some field in ["containers", "initContainers"]
	some i, container in object.get(pod.spec, field, [])
	entry := {"container": container, "path": sprintf("%s.%s[%d]", [pod.path, field, i])}
]
