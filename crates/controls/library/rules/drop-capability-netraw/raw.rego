package armo_builtins

import rego.v1

# NET_RAW is granted by default and allows crafting raw packets (ARP/DNS spoofing inside
# the node network). A container must drop it (or ALL) and must not add it back.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c, container in spec[kind]
	base := sprintf("%s%s[%d].securityContext.capabilities", [prefix, kind, c])
	added := added_paths(container, base)
	fixes := drop_fix(container, base)
	count(added) + count(fixes) > 0
	msga := {
		"alertMessage": sprintf("%s %s: container %s keeps the NET_RAW capability", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": added,
		"deletePaths": added,
		"fixPaths": fixes,
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

added_paths(container, base) := [sprintf("%s.add[%d]", [base, i]) |
	some i, cap in container.securityContext.capabilities.add
	cap in {"NET_RAW", "ALL"}
]

# Appends NET_RAW to the drop list unless it (or ALL) is already dropped.
drop_fix(container, base) := [] if {
	some cap in container.securityContext.capabilities.drop
	cap in {"NET_RAW", "ALL"}
} else := [{"path": sprintf("%s.drop[%d]", [base, count(drops)]), "value": "NET_RAW"}] if {
	drops := object.get(object.get(object.get(container, "securityContext", {}), "capabilities", {}), "drop", [])
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
