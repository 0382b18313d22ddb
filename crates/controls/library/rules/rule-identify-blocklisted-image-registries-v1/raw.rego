package armo_builtins

import rego.v1

# Images pulled from blocked or public registries have not gone through the
# organisation's own image vetting.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	ref := entry.container.image
	some registry in blocked_registries(data.postureControlInputs)
	from_registry(ref, registry)
	path := sprintf("%s.image", [entry.path])
	msga := {
		"alertMessage": sprintf("image %v of container %v comes from the blocked or public registry %v", [ref, entry.container.name, registry]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# A function, not a constant: top-level arrays in this package are read as alerts.
blocked_registries(inputs) := array.concat(
	object.get(inputs, "untrustedRegistries", []),
	object.get(inputs, "publicRegistries", []),
)

from_registry(ref, registry) if startswith(ref, registry)

# Short names resolve to Docker Hub (nginx -> docker.io/library/nginx).
from_registry(ref, registry) if {
	not startswith(ref, registry)
	startswith(image.parse_normalized_name(ref), registry)
}

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}

# Every container of the pod template (regular, init and ephemeral), with its path.
pod_containers(pod) := [entry |
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some i, container in object.get(pod.spec, field, [])
	entry := {"container": container, "path": sprintf("%s.%s[%d]", [pod.path, field, i])}
]
