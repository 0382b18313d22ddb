package armo_builtins

import rego.v1

# A Gateway API route (HTTPRoute, TCPRoute, UDPRoute) whose backend is a Service selecting
# a workload makes that workload reachable through the gateway, usually from outside the
# cluster. One alert per workload, route and Service, listing every backendRef involved.
deny contains msga if {
	some route in input
	route.kind in {"HTTPRoute", "TCPRoute", "UDPRoute"}
	some svc in input
	svc.kind == "Service"
	paths := backend_ref_paths(route, svc)
	count(paths) > 0
	some wl in input
	labels := pod_labels(wl)
	namespace(wl) == namespace(svc)
	selects(svc.spec.selector, labels)
	msga := {
		"alertMessage": sprintf("%s %s is exposed through %s %s via Service %s", [wl.kind, wl.metadata.name, route.kind, route.metadata.name, svc.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
		"relatedObjects": [
			{"object": route, "failedPaths": paths, "reviewPaths": paths},
			{"object": svc},
		],
	}
}

# Paths of the route's backendRefs that point at svc. A backendRef defaults to a core
# Service in the route's own namespace.
backend_ref_paths(route, svc) := [sprintf("spec.rules[%d].backendRefs[%d].name", [r, b]) |
	some r, rule in route.spec.rules
	some b, ref in rule.backendRefs
	object.get(ref, "kind", "Service") == "Service"
	object.get(ref, "group", "") == ""
	ref.name == svc.metadata.name
	object.get(ref, "namespace", namespace(route)) == namespace(svc)
]

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
