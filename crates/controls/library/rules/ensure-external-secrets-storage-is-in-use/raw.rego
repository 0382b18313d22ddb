package armo_builtins

import rego.v1

# Secrets should come from an external secret store mounted through the Secrets Store
# CSI driver rather than from Kubernetes Secrets. A workload without such a volume is
# reported, with a fix adding one.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	volumes := object.get(spec, "volumes", [])
	not uses_secret_store(volumes)
	path := sprintf("%svolumes[%d].csi.volumeAttributes.secretProviderClass", [prefix, count(volumes)])
	msga := {
		"alertMessage": sprintf("%s %s does not mount secrets from an external secret store", [wl.kind, wl.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": path, "value": "YOUR_VALUE"}],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

uses_secret_store(volumes) if {
	some volume in volumes
	volume.csi.driver == "secrets-store.csi.k8s.io"
}

uses_secret_store(volumes) if {
	some volume in volumes
	volume.csi.volumeAttributes.secretProviderClass
}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
