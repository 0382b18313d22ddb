package armo_builtins

import rego.v1

# An image referenced by a moving tag (latest, no tag, or a configured floating
# tag) with a pull policy other than Always may run a stale or unexpected image.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	is_floating_reference(entry.container.image)
	policy := entry.container.imagePullPolicy
	policy != "Always"
	paths := [sprintf("%s.image", [entry.path]), sprintf("%s.imagePullPolicy", [entry.path])]
	msga := {
		"alertMessage": sprintf("container %v of %v %v uses a floating image tag with imagePullPolicy %v", [entry.container.name, obj.kind, obj.metadata.name, policy]),
		"packagename": "armo_builtins",
		"alertScore": 2,
		"ruleStatus": "",
		"reviewPaths": paths,
		"failedPaths": paths,
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# Digests pin the image, whatever the tag says.
is_floating_reference(ref) if {
	not contains(ref, "@")
	image_tag(ref) == ""
}

is_floating_reference(ref) if {
	not contains(ref, "@")
	image_tag(ref) == "latest"
}

is_floating_reference(ref) if {
	not contains(ref, "@")
	image_tag(ref) in object.get(data.postureControlInputs, "floatingImageTags", [])
}

# The tag follows the last ":" after the last "/" (a ":" before it is a registry port).
image_tag(ref) := tag if {
	parts := split(ref, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	pieces := split(last, ":")
	tag := pieces[count(pieces) - 1]
}

image_tag(ref) := "" if {
	parts := split(ref, "/")
	not contains(parts[count(parts) - 1], ":")
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
