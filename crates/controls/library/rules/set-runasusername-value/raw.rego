package armo_builtins

import rego.v1

# Windows containers should name the user they run as (runAsUserName), e.g. the
# unprivileged ContainerUser, instead of relying on the image default.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	is_windows_pod(pod.spec)
	not pod.spec.securityContext.windowsOptions.runAsUserName
	some entry in main_containers(pod)
	not entry.container.securityContext.windowsOptions.runAsUserName
	msga := {
		"alertMessage": sprintf("%v %v: container %v does not set securityContext.windowsOptions.runAsUserName", [obj.kind, obj.metadata.name, entry.container.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("%s.securityContext.windowsOptions.runAsUserName", [entry.path]), "value": "YOUR_VALUE"}],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

is_windows_pod(spec) if spec.os.name == "windows"

is_windows_pod(spec) if spec.nodeSelector["kubernetes.io/os"] == "windows"

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}

# The regular (long-running) containers of the pod template, with their paths.
main_containers(pod) := [entry |
	some i, container in object.get(pod.spec, "containers", [])
	entry := {"container": container, "path": sprintf("%s.containers[%d]", [pod.path, i])}
]
