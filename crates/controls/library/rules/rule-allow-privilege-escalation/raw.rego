package armo_builtins

import rego.v1

# Unless allowPrivilegeEscalation is false, a process in the container can gain more
# privileges than its parent (setuid binaries, file capabilities). One alert per container.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	not escalation_blocked(container)
	base := sprintf("%s%s[%d].securityContext", [prefix, kind, c])
	msga := {
		"alertMessage": sprintf("%s %s: container %s allows privilege escalation", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"fixPaths": [
			{"path": sprintf("%s.allowPrivilegeEscalation", [base]), "value": "false"},
			{"path": sprintf("%s.privileged", [base]), "value": "false"},
		],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

escalation_blocked(container) if container.securityContext.allowPrivilegeEscalation == false

# A PodSecurityPolicy that forbids escalation makes it the default for containers that
# leave the field unset.
escalation_blocked(container) if {
	not has_setting(container)
	psp_forbids_escalation
}

# Package-level so it is computed once per evaluation, not once per container.
psp_forbids_escalation if {
	some psp in input
	psp.kind == "PodSecurityPolicy"
	psp.spec.allowPrivilegeEscalation == false
}

has_setting(container) if is_boolean(container.securityContext.allowPrivilegeEscalation)

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
