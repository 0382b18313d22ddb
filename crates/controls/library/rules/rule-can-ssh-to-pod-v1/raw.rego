package armo_builtins

import rego.v1

# A Service that forwards the SSH ports to a workload suggests an SSH server
# runs in its containers, which gives attackers a remote shell entry point.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some service in ssh_services_by_namespace[object.get(obj.metadata, "namespace", "default")]
	selects(service.spec.selector, labels_of(obj))
	path := labels_path(obj)
	msga := {
		"alertMessage": sprintf("%v %v is reachable through the SSH port of service %v", [obj.kind, obj.metadata.name, service.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": no_fix(obj),
		"alertObject": {"externalObjects": {
			"kind": obj.kind,
			"name": obj.metadata.name,
			"namespace": object.get(obj.metadata, "namespace", "default"),
			"relatedObjects": service,
		}},
	}
}

# Services exposing SSH, found once per evaluation (package-level rules are cached) instead
# of scanning the whole input for every workload: {namespace: {input index: service}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
ssh_services_by_namespace := object.union_n([{namespace: {i: service}} |
	some i, service in input
	service.kind == "Service"
	exposes_ssh(service)
	namespace := object.get(service.metadata, "namespace", "default")
])

# Top-level sets would be read as alert lists, so the ports live in a function.
is_ssh_port(port) if port in [22, 2222]

exposes_ssh(service) if {
	some port in service.spec.ports
	is_ssh_port(port.port)
}

exposes_ssh(service) if {
	some port in service.spec.ports
	is_ssh_port(port.targetPort)
}

selects(selector, labels) if {
	count(selector) > 0
	every key, value in selector {
		labels[key] == value
	}
}

labels_of(obj) := object.get(obj.metadata, "labels", {}) if obj.kind == "Pod"

labels_of(obj) := object.get(object.get(obj.spec.template, "metadata", {}), "labels", {}) if {
	not obj.kind in {"Pod", "CronJob"}
}

labels_of(obj) := object.get(object.get(obj.spec.jobTemplate.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind == "CronJob"
}

labels_path(obj) := "metadata.labels" if obj.kind == "Pod"

labels_path(obj) := "spec.jobTemplate.spec.template.metadata.labels" if obj.kind == "CronJob"

labels_path(obj) := "spec.template.metadata.labels" if not obj.kind in {"Pod", "CronJob"}

# Kept as upstream reports it: an empty list for pods, null for controllers.
no_fix(obj) := [] if obj.kind == "Pod"

no_fix(obj) := null if obj.kind != "Pod"

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}
