package armo_builtins

import rego.v1

# A tag can be moved to different content at any time; only a digest pins the exact image.
# Containers whose image has no well-formed digest are reported, unless the image comes
# from a repository listed in imageDigestExemptRepositories.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	not pinned(container.image)
	not exempt(container.image)
	path := sprintf("%s%s[%d].image", [prefix, kind, c])
	msga := {
		"alertMessage": sprintf("%s %s: image %s of container %s is not pinned to a digest", [wl.kind, wl.metadata.name, container.image, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 3,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

pinned(img) if {
	parts := split(img, "@")
	count(parts) == 2
	valid_digest(parts[1])
}

# sha256 and sha512 digests must be lowercase hex of the exact length; other algorithms
# follow the OCI digest grammar.
valid_digest(digest) if regex.match(`^sha256:[a-f0-9]{64}$`, digest)

valid_digest(digest) if regex.match(`^sha512:[a-f0-9]{128}$`, digest)

valid_digest(digest) if {
	not startswith(digest, "sha256:")
	not startswith(digest, "sha512:")
	regex.match(`^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`, digest)
}

# A repository prefix only matches at a path boundary ("internal-registry" does not
# exempt "internal-registry-attacker/app").
exempt(img) if {
	some repo in object.get(data.postureControlInputs, "imageDigestExemptRepositories", [])
	in_repository(img, trim_suffix(repo, "/"))
}

exempt(img) if {
	some repo in object.get(data.postureControlInputs, "imageDigestExemptRepositories", [])
	in_repository(image.parse_normalized_name(img), trim_suffix(repo, "/"))
}

in_repository(name, repo) if startswith(name, sprintf("%s/", [repo]))

in_repository(name, repo) if {
	startswith(name, repo)
	rest := substring(name, count(repo), -1)
	regex.match(`^[:@]`, rest)
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
