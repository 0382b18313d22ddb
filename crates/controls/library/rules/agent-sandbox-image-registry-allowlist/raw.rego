package armo_builtins

import rego.v1

# Images of agent sandbox templates must come from an approved registry or repository
# (the imageRepositoryAllowList configuration input).
deny contains msga if {
	template := input[_]
	template.kind == "SandboxTemplate"
	some field in ["containers", "initContainers"]
	some i, container in template.spec.podTemplate.spec[field]
	not is_allowed_image(container.image)

	path := sprintf("spec.podTemplate.spec.%s[%d].image", [field, i])
	msga := {
		"alertMessage": sprintf("SandboxTemplate %s: image %s of container %s is not from an approved registry", [template.metadata.name, container.image, container.name]),
		"alertScore": 7,
		"failedPaths": [path],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [template]},
	}
}

# Compare fully-qualified names ("python" -> "docker.io/library/python") on whole path
# components, so "gcr.io" does not approve "gcr.io.evil.com" or "gcrXio".
is_allowed_image(image) if {
	name := image.parse_normalized_name(image)
	some allowed in data.postureControlInputs.imageRepositoryAllowList
	prefix := trim_suffix(allowed, "/")
	startswith(name, concat("", [prefix, "/"]))
}

is_allowed_image(image) if {
	name := image.parse_normalized_name(image)
	some allowed in data.postureControlInputs.imageRepositoryAllowList
	name == allowed
}
