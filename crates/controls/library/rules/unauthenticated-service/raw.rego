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
	some svc in input
	svc.kind == "Service"
	svc.metadata.name == result.metadata.name
	namespace(svc) == namespace(result)
	some wl in input
	labels := pod_labels(wl)
	namespace(wl) == namespace(svc)
	selects(svc.spec.selector, labels)
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
