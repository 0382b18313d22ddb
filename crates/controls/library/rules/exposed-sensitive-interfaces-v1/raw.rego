package armo_builtins

import rego.v1

# Management and AI-serving interfaces (dashboards, Argo, Jenkins, model servers ...) should
# not be reachable from outside the cluster. A workload whose name contains one of the
# configured sensitiveInterfaces and that is selected by an externally reachable Service
# (NodePort, or LoadBalancer that got an external address) is reported, once per Service.
deny contains msga if {
	some wl in input
	labels := pod_labels(wl)
	is_sensitive(wl.metadata.name)
	some svc in external_services[namespace(wl)]
	selects(svc.spec.selector, labels)
	msga := {
		"alertMessage": sprintf("%s %s is a sensitive interface exposed outside the cluster by Service %s", [wl.kind, wl.metadata.name, svc.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"reviewPaths": ["spec.selector.matchLabels", "spec.selector"],
		"failedPaths": ["spec.selector.matchLabels", "spec.selector"],
		"fixPaths": [],
		"alertObject": {"externalObjects": {
			"kind": wl.kind,
			"name": wl.metadata.name,
			"namespace": namespace(wl),
			"relatedObjects": [svc],
		}},
	}
}

is_sensitive(name) if {
	some iface in data.postureControlInputs.sensitiveInterfaces
	contains(name, iface)
}

# Externally reachable services grouped by namespace once per evaluation (package-level rules
# are cached) instead of scanning the whole input for every workload:
# {namespace: {input index: service}}. object.union_n merges the one-entry objects
# recursively, which groups without conflicts.
external_services := object.union_n([{namespace(svc): {i: svc}} |
	some i, svc in input
	svc.kind == "Service"
	externally_reachable(svc)
])

externally_reachable(svc) if svc.spec.type == "NodePort"

# A LoadBalancer is only exposed once the cloud provider assigned it an address.
externally_reachable(svc) if {
	svc.spec.type == "LoadBalancer"
	count(svc.status.loadBalancer.ingress) > 0
}

# An empty or missing Service selector selects nothing.
selects(selector, labels) if {
	count(selector) > 0
	every key, value in selector {
		labels[key] == value
	}
}

namespace(obj) := object.get(obj.metadata, "namespace", "default")

pod_labels(obj) := object.get(obj.metadata, "labels", {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(object.get(obj.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_labels(obj) := object.get(object.get(obj.spec.jobTemplate.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind == "CronJob"
}
