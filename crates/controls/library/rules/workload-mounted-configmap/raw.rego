package armo_builtins

import rego.v1

# Lists which workloads mount a ConfigMap that exists in their namespace, so the data the
# ConfigMap holds can be traced to its consumers. One alert per volume mount.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some volume in spec.volumes
	name := volume.configMap.name
	some resource in config_maps[namespace(wl)][name]
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	some m, mount in container.volumeMounts
	mount.name == volume.name
	path := sprintf("%s%s[%d].volumeMounts[%d]", [prefix, kind, c, m])
	msga := {
		"alertMessage": sprintf("%s %s mounts the ConfigMap %s", [wl.kind, wl.metadata.name, name]),
		"packagename": "armo_builtins",
		"alertScore": 0,
		"ruleStatus": "",
		"failedPaths": [path],
		"deletePaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
		"relatedObjects": [{"object": resource, "failedPaths": null, "fixPaths": null}],
	}
}

namespace(obj) := object.get(obj.metadata, "namespace", "default")

# ConfigMaps indexed once per evaluation (package-level rules are cached) instead of scanning
# the whole input for every volume: {namespace: {name: {input index: object}}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
config_maps := object.union_n([{namespace(resource): {resource.metadata.name: {i: resource}}} |
	some i, resource in input
	resource.kind == "ConfigMap"
])

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
