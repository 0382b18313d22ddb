package armo_builtins

import rego.v1

# The in-cluster service scanner (ServiceScanResult, named after the Service it probed)
# records for each port whether it asked for authentication. Workloads behind a Service
# with an unauthenticated port are reported, with the Service and the scan result.
deny contains msga if {
	some result in input
	result.kind == "ServiceScanResult"
	some p, port in result.spec.ports
	port.authenticated == false
	some svc in services[namespace(result)][result.metadata.name]
	some wl in selected_workloads(svc)
	msga := {
		"alertMessage": sprintf("%s %s serves port %v of Service %s without authentication", [wl.kind, wl.metadata.name, port.port, svc.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
		"relatedObjects": [
			{"object": svc},
			{"object": result, "reviewPaths": [sprintf("spec.ports[%d].authenticated", [p])], "failedPaths": [sprintf("spec.ports[%d].authenticated", [p])]},
		],
	}
}

# Scanning the whole input for the service and then its workloads is quadratic, so both are
# looked up in indexes built once per evaluation (package-level rules are cached).
# object.union_n merges one-entry objects recursively, which groups without conflicts.

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
# Package-level rules are all evaluated, so the index is only built when there are results.
workloads_by_label := object.union_n([{namespace(wl): {key: {value: {i: wl}}}} |
	some i, wl in input
	some key, value in pod_labels(wl)
]) if {
	some result in input
	result.kind == "ServiceScanResult"
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
