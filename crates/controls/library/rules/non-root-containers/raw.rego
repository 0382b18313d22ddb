package armo_builtins

import rego.v1

# Containers should run with a non-zero user and group; root inside a container
# is one kernel bug away from root on the node.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	pod_context := object.get(pod.spec, "securityContext", {})
	container_context := object.get(entry.container, "securityContext", {})
	fixes := array.concat(
		user_fixes(pod_context, container_context, entry.path),
		group_fixes(pod_context, container_context, entry.path),
	)
	count(fixes) > 0
	msga := {
		"alertMessage": sprintf("container %v of %v %v may run as root", [entry.container.name, obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"reviewPaths": [],
		"failedPaths": [],
		"fixPaths": offered_fixes(entry.path, fixes),
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# Container settings override the pod-level ones.
effective(pod_context, container_context, key) := container_context[key]

effective(pod_context, container_context, key) := pod_context[key] if not has_key(container_context, key)

has_key(obj, key) if _ = obj[key]

# An explicit root user is fixed by choosing another user.
user_fixes(pc, cc, path) := [{"path": sprintf("%s.securityContext.runAsUser", [path]), "value": "1000"}] if {
	effective(pc, cc, "runAsUser") == 0
}

user_fixes(pc, cc, path) := [{"path": sprintf("%s.securityContext.runAsNonRoot", [path]), "value": "true"}] if {
	not has_effective(pc, cc, "runAsUser")
	not effective(pc, cc, "runAsNonRoot") == true
}

user_fixes(pc, cc, _) := [] if {
	effective(pc, cc, "runAsUser") > 0
}

user_fixes(pc, cc, _) := [] if {
	not has_effective(pc, cc, "runAsUser")
	effective(pc, cc, "runAsNonRoot") == true
}

group_fixes(pc, cc, _) := [] if effective(pc, cc, "runAsGroup") > 0

group_fixes(pc, cc, path) := [{"path": sprintf("%s.securityContext.runAsGroup", [path]), "value": "1000"}] if {
	not effective(pc, cc, "runAsGroup") > 0
}

has_effective(pc, cc, key) if _ = effective(pc, cc, key)

offered_fixes(path, _) := [] if is_ephemeral(path)

offered_fixes(path, fixes) := fixes if not is_ephemeral(path)

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
