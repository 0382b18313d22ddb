package armo_builtins

import rego.v1

# The community ingress-nginx controller is retired (end of life March 2026):
# it gets no further security fixes.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in pod_containers(pod)
	is_ingress_nginx_controller(entry.container.image)
	path := sprintf("%s.image", [entry.path])
	msga := {
		"alertMessage": sprintf("%v %v runs the retired ingress-nginx controller image %v", [obj.kind, obj.metadata.name, entry.container.image]),
		"packagename": "armo_builtins",
		"alertScore": 6,
		"ruleStatus": "",
		"fixCommand": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

# Image repositories the ingress-nginx project published its controller under.
is_ingress_nginx_controller(ref) if {
	repository := split(lower(ref), "@")[0]
	some marker in ["ingress-nginx/controller", "nginx-ingress-controller"]
	contains(repository, marker)
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
