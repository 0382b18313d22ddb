package armo_builtins

import rego.v1

# Images of agent sandbox templates must be pinned: a digest, or a fixed tag. No tag,
# "latest", or a tag configured as floating (floatingImageTags, e.g. "nightly") can
# silently change what runs in the sandbox.
deny contains msga if {
	template := input[_]
	template.kind == "SandboxTemplate"
	some field in ["containers", "initContainers"]
	some i, container in template.spec.podTemplate.spec[field]
	not contains(container.image, "@")
	is_floating_tag(image_tag(container.image))

	path := sprintf("spec.podTemplate.spec.%s[%d].image", [field, i])
	msga := {
		"alertMessage": sprintf("SandboxTemplate %s: image %s of container %s is not pinned to a fixed tag or digest", [template.metadata.name, container.image, container.name]),
		"alertScore": 7,
		"failedPaths": [path],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [template]},
	}
}

# The tag sits after the last ":" of the last path component (a registry port such as
# "registry:5000/" is in an earlier component). "" when there is no tag.
image_tag(ref) := tag if {
	parts := split(ref, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	pieces := split(last, ":")
	tag := pieces[count(pieces) - 1]
} else := ""

is_floating_tag("") := true

is_floating_tag("latest") := true

is_floating_tag(tag) if tag in data.postureControlInputs.floatingImageTags
