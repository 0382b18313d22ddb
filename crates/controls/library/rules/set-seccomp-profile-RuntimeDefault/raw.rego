package armo_builtins

import rego.v1

# The runtime's default seccomp profile blocks dangerous syscalls at little cost.
# Any other profile type set on the pod or a container is reported for review; a container
# with no profile at all (and none inherited from the pod) gets a fix to RuntimeDefault.

# Pod-level profile other than RuntimeDefault.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	spec.securityContext.seccompProfile.type != "RuntimeDefault"
	path := sprintf("%ssecurityContext.seccompProfile.type", [prefix])
	msga := alert(wl, sprintf("%s %s uses seccomp profile %s at pod level", [wl.kind, wl.metadata.name, spec.securityContext.seccompProfile.type]), [path], [])
}

# Container-level profile other than RuntimeDefault.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	container.securityContext.seccompProfile.type != "RuntimeDefault"
	path := sprintf("%s%s[%d].securityContext.seccompProfile.type", [prefix, kind, c])
	msga := alert(wl, sprintf("%s %s: container %s uses seccomp profile %s", [wl.kind, wl.metadata.name, container.name, container.securityContext.seccompProfile.type]), [path], [])
}

# No profile anywhere for this container.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	not spec.securityContext.seccompProfile
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	not container.securityContext.seccompProfile
	path := sprintf("%s%s[%d].securityContext.seccompProfile.type", [prefix, kind, c])
	msga := alert(wl, sprintf("%s %s: container %s has no seccomp profile", [wl.kind, wl.metadata.name, container.name]), [], [{"path": path, "value": "RuntimeDefault"}])
}

alert(wl, message, paths, fixes) := {
	"alertMessage": message,
	"packagename": "armo_builtins",
	"alertScore": 7,
	"ruleStatus": "",
	"reviewPaths": paths,
	"failedPaths": paths,
	"fixPaths": fixes,
	"alertObject": {"k8sApiObjects": [wl]},
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
