package armo_builtins

import rego.v1

# procMount: Unmasked exposes the host's /proc paths that the runtime normally masks.
# Containers should state procMount: Default. Nothing is reported when the control-plane
# data shows the ProcMountType feature gate switched off (the field is then ignored).
deny contains msga if {
	not proc_mount_gate_disabled
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	not container.securityContext.procMount == "Default"
	path := sprintf("%s%s[%d].securityContext.procMount", [prefix, kind, c])
	msga := {
		"alertMessage": sprintf("%s %s: container %s does not use procMount Default", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"fixPaths": [{"path": path, "value": "Default"}],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

proc_mount_gate_disabled if {
	some info in input
	info.kind == "ControlPlaneInfo"
	regex.match(`--feature-gates=\S*ProcMountType=false`, info.data.APIServerInfo.cmdLine)
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
