package armo_builtins

import rego.v1

# A workload is reachable from outside when an Istio VirtualService routes to
# its Service and is bound to a Gateway served by an externally exposed
# (NodePort / LoadBalancer) ingress-gateway Service.
deny contains msga if {
	vs := input[_]
	vs.kind == "VirtualService"
	some h, http in vs.spec.http
	some r, route in http.route
	some target in routed_services(vs, route.destination.host)
	some gateway_ref in vs.spec.gateways
	some gateway in gateways
	is_referenced_gateway(vs, gateway_ref, gateway)
	some gateway_service in external_services
	selector_matches(gateway.spec.selector, object.get(gateway_service.spec, "selector", {}))
	some obj in selected_workloads(target)
	# Reported as "routes" (sic), the way the reference output names it.
	path := sprintf("spec.http[%d].routes[%d].destination.host", [h, r])
	msga := {
		"alertMessage": sprintf("%v %v is exposed outside the cluster through Istio virtual service %v", [obj.kind, obj.metadata.name, vs.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"reviewPaths": null,
		"deletePaths": null,
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
		"relatedObjects": [
			{"object": vs, "failedPaths": [path], "reviewPaths": [path], "deletePaths": null, "fixPaths": null},
			related_only(gateway_service),
			related_only(gateway),
			related_only(target),
		],
	}
}

related_only(o) := {"object": o, "failedPaths": null, "reviewPaths": null, "deletePaths": null, "fixPaths": null}

# Starting from the workloads and scanning the whole input for each of them is quadratic,
# so the rule starts from the (few) virtual services and looks the other objects up in
# indexes built once per evaluation (package-level rules are cached). object.union_n
# merges one-entry objects recursively, which groups without conflicts.

# Destination hosts are "name", "name.namespace" or "name.namespace.svc.<domain>".
# All services of that name: the input may hold several copies of one object.
routed_services(vs, host) := services[host_namespace(vs, parts)][parts[0]] if {
	parts := split(host, ".")
}

# {namespace: {name: {input index: service}}}
services := object.union_n([{namespace_of(service): {service.metadata.name: {i: service}}} |
	some i, service in input
	service.kind == "Service"
])

# {input index: object}
gateways := {i: gateway | some i, gateway in input; gateway.kind == "Gateway"}

external_services := {i: service |
	some i, service in input
	service.kind == "Service"
	service.spec.type in {"NodePort", "LoadBalancer"}
}

# Workloads whose pod labels the service selects, found through the label index.
selected_workloads(service) := [obj |
	some key, value in service.spec.selector
	some obj in workloads_by_label[namespace_of(service)][key][value]
	selector_matches(service.spec.selector, pod_labels(obj))
]

# {namespace: {label key: {label value: {input index: workload}}}}
# Package-level rules are all evaluated, so the index is only built when there are
# virtual services.
workloads_by_label := object.union_n([{namespace_of(obj): {key: {value: {i: obj}}}} |
	some i, obj in input
	pod_spec_with_path(obj)
	some key, value in pod_labels(obj)
]) if {
	some vs in input
	vs.kind == "VirtualService"
}

host_namespace(vs, parts) := namespace_of(vs) if count(parts) == 1

host_namespace(_, parts) := parts[1] if count(parts) > 1

# Gateway references are "name" (same namespace as the virtual service) or "namespace/name".
is_referenced_gateway(vs, ref, gateway) if {
	not contains(ref, "/")
	gateway.metadata.name == ref
	namespace_of(gateway) == namespace_of(vs)
}

is_referenced_gateway(_, ref, gateway) if {
	parts := split(ref, "/")
	count(parts) == 2
	gateway.metadata.name == parts[1]
	namespace_of(gateway) == parts[0]
}

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
