package armo_builtins

import rego.v1

# Capabilities such as SYS_ADMIN or NET_ADMIN give a container near-root power
# over the node; the configured list names those considered dangerous.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	paths := [sprintf("%s.securityContext.capabilities.add[%d]", [entry.path, k]) |
		some k, cap in entry.container.securityContext.capabilities.add
		is_insecure_capability(cap)
	]
	count(paths) > 0
	msga := {
		"alertMessage": sprintf("container %v of %v %v adds dangerous capabilities", [entry.container.name, obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"deletePaths": deletable(entry.path, paths),
		"failedPaths": paths,
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

normalized_capability(cap) := trim_prefix(upper(cap), "CAP_")

is_insecure_capability(cap) if {
	some insecure in data.postureControlInputs.insecureCapabilities
	normalized_capability(cap) == normalized_capability(insecure)
}

deletable(path, _) := [] if is_ephemeral(path)

deletable(path, paths) := paths if not is_ephemeral(path)

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

# Ephemeral containers cannot be edited once added, so no fix or delete is offered for them.
is_ephemeral(path) if contains(path, ".ephemeralContainers[")
