package armo_builtins

import rego.v1

# Mounting a cloud provider's credential files from the node hands the node's
# cloud identity to the workload.
deny contains msga if {
	provider := lower(data.dataControlInputs.cloudProvider)
	obj := input[_]
	pod := pod_spec_with_path(obj)
	volume := pod.spec.volumes[i]
	is_credentials_path(provider, volume.hostPath.path)
	path := sprintf("%s.volumes[%d].hostPath.path", [pod.path, i])
	msga := {
		"alertMessage": sprintf("%v %v mounts the %v credentials path %v from the node", [obj.kind, obj.metadata.name, provider, volume.hostPath.path]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"failedPaths": [path],
		"reviewPaths": [path],
		"deletePaths": [sprintf("%s.volumes[%d]", [pod.path, i])],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# Node locations holding cloud credentials, per managed-Kubernetes provider.
credential_patterns := {
	"eks": [`(^|/)\.aws/?$`, `(^|/)\.aws/credentials$`, `^/etc/eks(/|$)`],
	"gke": [`(^|/)\.config/gcloud(/|$)`, `application_default_credentials\.json$`, `^/var/lib/google(/|$)`],
	"aks": [`^/etc/kubernetes/azure\.json$`, `(^|/)\.azure(/|$)`, `^/etc/kubernetes/?$`],
}

is_credentials_path(provider, path) if {
	some pattern in credential_patterns[provider]
	regex.match(pattern, path)
}

pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}
