package armo_builtins

import rego.v1

# A Windows HostProcess container runs directly on the node with host
# privileges, bypassing container isolation.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	pod.spec.securityContext.windowsOptions.hostProcess == true
	msga := host_process_alert(obj, sprintf("%s.securityContext.windowsOptions.hostProcess", [pod.path]), "its pod")
}

deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	entry.container.securityContext.windowsOptions.hostProcess == true
	msga := host_process_alert(obj, sprintf("%s.securityContext.windowsOptions.hostProcess", [entry.path]), sprintf("container %v", [entry.container.name]))
}

host_process_alert(obj, path, where) := {
	"alertMessage": sprintf("%v %v: %v runs as a Windows HostProcess", [obj.kind, obj.metadata.name, where]),
	"packagename": "armo_builtins",
	"alertScore": 7,
	"ruleStatus": "",
	"failedPaths": [path],
	"fixPaths": [{"path": path, "value": "false"}],
	"alertObject": {"k8sApiObjects": [obj]},
}

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
