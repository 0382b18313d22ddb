package armo_builtins

import rego.v1

# A Gateway API route (HTTPRoute, TCPRoute, UDPRoute) whose backend is a Service selecting
# a workload makes that workload reachable through the gateway, usually from outside the
# cluster. One alert per workload, route and Service, listing every backendRef involved.
deny contains msga if {
	some route in input
	route.kind in {"HTTPRoute", "TCPRoute", "UDPRoute"}
	some svc in backend_services(route)
	paths := backend_ref_paths(route, svc)
	count(paths) > 0
	some wl in selected_workloads(svc)
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

# Scanning the whole input for services and then workloads is quadratic, so both are looked
# up in indexes built once per evaluation (package-level rules are cached). object.union_n
# merges one-entry objects recursively, which groups without conflicts.

# Services a backendRef of the route names (candidates; backend_ref_paths has the details).
backend_services(route) := [svc |
	some rule in route.spec.rules
	some ref in rule.backendRefs
	some svc in services[object.get(ref, "namespace", namespace(route))][ref.name]
]

# {namespace: {name: {input index: service}}}
services := object.union_n([{namespace(svc): {svc.metadata.name: {i: svc}}} |
	some i, svc in input
	svc.kind == "Service"
])

# Workloads whose pod labels the service selects, found through the label index.
selected_workloads(svc) := [wl |
	some key, value in svc.spec.selector
	some wl in workloads_by_label[namespace(svc)][key][value]
	selects(svc.spec.selector, pod_labels(wl))
]

# {namespace: {label key: {label value: {input index: workload}}}}
# Package-level rules are all evaluated, so the index is only built when there are routes.
workloads_by_label := object.union_n([{namespace(wl): {key: {value: {i: wl}}}} |
	some i, wl in input
	some key, value in pod_labels(wl)
]) if {
	some route in input
	route.kind in {"HTTPRoute", "TCPRoute", "UDPRoute"}
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
