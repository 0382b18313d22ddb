package armo_builtins

import rego.v1

# Reported for review: each Secret mounted into a workload widens who can read
# it (anyone who can exec into the pod or compromise the container).
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some volume in pod.spec.volumes
	some secret in secrets[namespace_of(obj)][volume.secret.secretName]
	some entry in pod_containers(pod)
	some m, mount in entry.container.volumeMounts
	mount.name == volume.name
	path := sprintf("%s.volumeMounts[%d]", [entry.path, m])
	msga := {
		"alertMessage": sprintf("%v %v mounts Secret %v in container %v", [obj.kind, obj.metadata.name, secret.metadata.name, entry.container.name]),
		"packagename": "armo_builtins",
		"alertScore": 0,
		"ruleStatus": "",
		"deletePaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
		"relatedObjects": [{"object": secret, "failedPaths": null, "fixPaths": null}],
	}
}

# Secrets indexed once per evaluation (package-level rules are cached) instead of scanning
# the whole input for every volume: {namespace: {name: {input index: secret}}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
secrets := object.union_n([{namespace_of(secret): {secret.metadata.name: {i: secret}}} |
	some i, secret in input
	secret.kind == "Secret"
])

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

namespace_of(obj) := object.get(obj.metadata, "namespace", "default")
