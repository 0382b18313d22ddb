package armo_builtins

import rego.v1

# Images pulled from a registry the user marked untrusted, or from a public registry,
# may be tampered with. Each matching container image is reported for review.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	registry := flagged_registry(container.image)
	path := sprintf("%s%s[%d].image", [prefix, kind, c])
	msga := {
		"alertMessage": sprintf("%s %s: image %s of container %s comes from the untrusted or public registry %s", [wl.kind, wl.metadata.name, container.image, container.name, registry]),
		"packagename": "armo_builtins",
		"alertScore": 2,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

# A function, not a value: every set or array in this package is read as alerts.
flagged_registries(inputs) := array.concat(
	object.get(inputs, "untrustedRegistries", []),
	object.get(inputs, "publicRegistries", []),
)

# First flagged registry the image belongs to (as written, or after Docker normalisation).
flagged_registry(img) := registry if {
	matches := [r | some r in flagged_registries(data.postureControlInputs); image_in_registry(img, r)]
	registry := matches[0]
}

image_in_registry(img, registry) if startswith(img, registry)

image_in_registry(img, registry) if {
	not startswith(img, registry)
	startswith(image.parse_normalized_name(img), registry)
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
