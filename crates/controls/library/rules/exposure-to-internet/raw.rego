package armo_builtins

import rego.v1

# Workloads reachable from outside the cluster, through a NodePort or
# LoadBalancer Service or through an Ingress, are the first thing attackers probe.
deny contains msga if {
	service := input[_]
	service.kind == "Service"
	service.spec.type in {"NodePort", "LoadBalancer"}
	some obj in selected_workloads(service)
	msga := {
		"alertMessage": sprintf("%v %v is exposed outside the cluster by %v service %v", [obj.kind, obj.metadata.name, service.spec.type, service.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
		"relatedObjects": [{
			"object": service,
			"reviewPaths": ["spec.type"],
			"failedPaths": ["spec.type"],
			"fixPaths": null,
		}],
	}
}

deny contains msga if {
	service := input[_]
	service.kind == "Service"
	some ingress in ingresses[namespace_of(service)]
	paths := ingress_backend_paths(ingress, service.metadata.name)
	count(paths) > 0
	some obj in selected_workloads(service)
	msga := {
		"alertMessage": sprintf("%v %v is exposed outside the cluster by ingress %v", [obj.kind, obj.metadata.name, ingress.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
		"relatedObjects": [
			{
				"object": ingress,
				"reviewPaths": paths,
				"failedPaths": paths,
				"fixPaths": null,
			},
			{"object": service},
		],
	}
}

# Matching every Service against every workload is quadratic, so the workloads are
# indexed once per evaluation (package-level rules are cached) by pod label:
# {namespace: {label key: {label value: {input index: workload}}}}. Only workloads carrying
# one of the selector's labels are candidates. object.union_n merges the one-entry objects
# recursively, which groups without conflicts.
selected_workloads(service) := [obj |
	some key, value in service.spec.selector
	some obj in workloads_by_label[namespace_of(service)][key][value]
	selector_matches(service.spec.selector, pod_labels(obj))
]

workloads_by_label := object.union_n([{namespace_of(obj): {key: {value: {i: obj}}}} |
	some i, obj in input
	pod_spec_with_path(obj)
	some key, value in pod_labels(obj)
])

# Ingresses grouped by namespace the same way: {namespace: {input index: ingress}}.
ingresses := object.union_n([{namespace_of(ingress): {i: ingress}} |
	some i, ingress in input
	ingress.kind == "Ingress"
])

# Paths of the ingress backends that route to the named service.
ingress_backend_paths(ingress, name) := array.concat(
	[path |
		ingress.spec.defaultBackend.service.name == name
		path := "spec.defaultBackend.service.name"
	],
	[path |
		some r, rule in ingress.spec.rules
		some p, http_path in rule.http.paths
		http_path.backend.service.name == name
		path := sprintf("spec.rules[%d].http.paths[%d].backend.service.name", [r, p])
	],
)

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}

# Labels of the pods a workload creates.
pod_labels(obj) := object.get(obj.metadata, "labels", {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(object.get(obj.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_labels(obj) := object.get(object.get(obj.spec.jobTemplate.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind == "CronJob"
}

namespace_of(obj) := object.get(obj.metadata, "namespace", "default")

# A non-empty selector matches when every one of its labels is present.
selector_matches(selector, labels) if {
	count(selector) > 0
	every key, value in selector {
		labels[key] == value
	}
}
