package armo_builtins

import rego.v1

# Credentials placed directly in environment variables are visible to anyone who can read
# the workload spec. An env var is reported when its name contains a sensitive key word or
# its value matches a sensitive value pattern (both configurable, with allow lists);
# values that are file paths are references, not secrets. Secrets injected wholesale with
# envFrom.secretRef are reported too.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	some e, env in container.env
	is_string(env.value)
	not is_file_path(env.value)
	looks_sensitive(env)
	not allowed(env)
	base := sprintf("%s%s[%d].env[%d]", [prefix, kind, c, e])
	paths := [sprintf("%s.name", [base]), sprintf("%s.value", [base])]
	msga := alert(wl, sprintf("container %s has a credential in environment variable %s", [container.name, env.name]), paths)
}

deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	some f, source in container.envFrom
	source.secretRef
	path := sprintf("%s%s[%d].envFrom[%d].secretRef", [prefix, kind, c, f])
	msga := alert(wl, sprintf("container %s loads secret %v into its environment", [container.name, source.secretRef.name]), [path])
}

alert(wl, message, paths) := {
	"alertMessage": sprintf("%s %s: %s", [wl.kind, wl.metadata.name, message]),
	"packagename": "armo_builtins",
	"alertScore": 9,
	"ruleStatus": "",
	"failedPaths": paths,
	"deletePaths": paths,
	"fixPaths": [],
	"alertObject": {"k8sApiObjects": [wl]},
}

looks_sensitive(env) if {
	some word in object.get(data.postureControlInputs, "sensitiveKeyNames", [])
	contains(lower(env.name), lower(word))
}

looks_sensitive(env) if {
	some pattern in object.get(data.postureControlInputs, "sensitiveValues", [])
	regex.match(pattern, env.value)
}

allowed(env) if {
	some word in object.get(data.postureControlInputs, "sensitiveKeyNamesAllowed", [])
	contains(lower(env.name), lower(word))
}

allowed(env) if {
	some pattern in object.get(data.postureControlInputs, "sensitiveValuesAllowed", [])
	regex.match(pattern, env.value)
}

is_file_path(value) if regex.match(`^/[^\s]*$`, value)

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
