package armo_builtins

import rego.v1

# Images should only come from the registries the organisation trusts
# (configured in imageRepositoryAllowList).
untrustedImageRepo contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	image := entry.container.image
	not image_is_allowed(image)
	path := sprintf("%s.image", [entry.path])
	msga := {
		"alertMessage": sprintf("container %v uses image %v from a registry outside the allow list", [entry.container.name, image]),
		"packagename": "armo_builtins",
		"alertScore": 2,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

image_is_allowed(ref) if {
	some allowed in data.postureControlInputs.imageRepositoryAllowList
	startswith(ref, allowed)
}

# Short names are resolved first (nginx -> docker.io/library/nginx).
image_is_allowed(ref) if {
	some allowed in data.postureControlInputs.imageRepositoryAllowList
	startswith(image.parse_normalized_name(ref), allowed)
}

# An allowed domain also covers its sub-domains, e.g. amazonaws.com for ECR hosts.
image_is_allowed(ref) if {
	some allowed in data.postureControlInputs.imageRepositoryAllowList
	registry := split(image.parse_normalized_name(ref), "/")[0]
	endswith(registry, concat("", [".", allowed]))
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
