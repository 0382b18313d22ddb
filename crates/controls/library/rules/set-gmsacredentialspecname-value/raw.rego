package armo_builtins

import rego.v1

# Windows containers that need Active Directory access should use a group Managed Service
# Account (gMSA) credential spec instead of embedded credentials. Only pods that declare
# os.name: windows are checked; a pod-level setting covers all its containers.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	spec.os.name == "windows"
	not spec.securityContext.windowsOptions.gmsaCredentialSpecName
	some c, container in spec.containers
	not container.securityContext.windowsOptions.gmsaCredentialSpecName
	path := sprintf("%scontainers[%d].securityContext.windowsOptions.gmsaCredentialSpecName", [prefix, c])
	msga := {
		"alertMessage": sprintf("%s %s: Windows container %s has no gMSA credential spec", [wl.kind, wl.metadata.name, container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": path, "value": "YOUR_VALUE"}],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
