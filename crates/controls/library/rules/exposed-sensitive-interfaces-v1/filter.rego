package armo_builtins

import rego.v1

# Keeps the workloads named like a sensitive interface, and the Services the rule needs
# to decide whether they are exposed.
deny contains msga if {
	some obj in input
	obj.kind in {"Pod", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "CronJob"}
	some iface in data.postureControlInputs.sensitiveInterfaces
	contains(obj.metadata.name, iface)
	msga := {
		"alertMessage": sprintf("%s %s may be a sensitive interface", [obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

deny contains msga if {
	some obj in input
	obj.kind == "Service"
	msga := {
		"alertMessage": sprintf("Service %s", [obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [obj]},
	}
}
