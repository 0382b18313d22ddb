package armo_builtins

import rego.v1

# Images must come from one of the repositories in imageRepositoryAllowList.
# A container whose image matches no allowed repository (as written, or after Docker
# normalisation, e.g. nginx -> docker.io/library/nginx) is reported.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	not image_allowed(container.image, object.get(data.postureControlInputs, "imageRepositoryAllowList", []))
	path := sprintf("%s%s[%d].image", [prefix, kind, c])
	msga := {
		"alertMessage": sprintf("%s %s: image %s of container %s is not from an allowed repository", [wl.kind, wl.metadata.name, container.image, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

image_allowed(img, allowed) if {
	some repo in allowed
	in_repository(img, repo)
}

in_repository(img, repo) if startswith(img, repo)

in_repository(img, repo) if startswith(image.parse_normalized_name(img), repo)

# Allow-list entries may also be regular expressions (e.g. "registry\\.example\\.com/.*").
in_repository(img, repo) if regex.match(sprintf("^%s$", [repo]), img)

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
