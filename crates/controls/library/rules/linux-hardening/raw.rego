package armo_builtins

import rego.v1

# A container should run under at least one Linux security module profile: seccomp,
# SELinux or AppArmor, set on the container or inherited from the pod. Dropping
# capabilities alone does not count. One alert per unconfined container.
deny contains msga if {
	some wl in input
	[spec, prefix, annotations] := pod_spec(wl)
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	not hardened(spec, container, annotations)
	msga := {
		"alertMessage": sprintf("%s %s: container %s runs without seccomp, SELinux or AppArmor hardening", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("%s%s[%d].securityContext.seccompProfile", [prefix, kind, c]), "value": "YOUR_VALUE"}],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

# Wrapped in an object: a top-level array in this package would be read as alerts.
hardening_fields := {"fields": ["seccompProfile", "seLinuxOptions", "appArmorProfile"]}

hardened(_, container, _) if {
	some field in hardening_fields.fields
	container.securityContext[field]
}

hardened(spec, _, _) if {
	some field in hardening_fields.fields
	spec.securityContext[field]
}

# Legacy AppArmor annotation, per container name.
hardened(_, container, annotations) if {
	annotations[sprintf("container.apparmor.security.beta.kubernetes.io/%s", [container.name])]
}

pod_spec(obj) := [obj.spec, "spec.", object.get(obj.metadata, "annotations", {})] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec.", template_annotations(obj.spec.template)] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [spec, "spec.jobTemplate.spec.template.spec.", template_annotations(template)] if {
	obj.kind == "CronJob"
	template := obj.spec.jobTemplate.spec.template
	spec := template.spec
}

template_annotations(template) := object.get(object.get(template, "metadata", {}), "annotations", {})
