package armo_builtins

import rego.v1

# Gateway API routes whose backendRefs point to a Service that does not exist. Such a
# dangling route fails today and is silently taken over by whoever later creates a
# Service with that name.
deny contains msga if {
	route := input[_]
	route.kind in {"HTTPRoute", "TCPRoute", "UDPRoute", "GRPCRoute", "TLSRoute"}
	route_namespace := object.get(route.metadata, "namespace", "default")
	some i, rule in route.spec.rules
	some j, ref in rule.backendRefs
	is_service_ref(ref)
	namespace := object.get(ref, "namespace", route_namespace)
	not service_exists(ref.name, namespace)

	msga := {
		"alertMessage": sprintf("%s %s routes to Service %s, which does not exist in namespace %s", [route.kind, route.metadata.name, ref.name, namespace]),
		"alertScore": 4,
		"failedPaths": [sprintf("spec.rules[%d].backendRefs[%d].name", [i, j])],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [route]},
	}
}

# backendRefs default to kind Service in the core group.
is_service_ref(ref) if {
	object.get(ref, "kind", "Service") == "Service"
	object.get(ref, "group", "") == ""
}

service_exists(name, namespace) if services[namespace][name]

# Services collected once per evaluation (package-level rules are cached) instead of
# scanning the whole input for every backend: {namespace: {name: true}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
services := object.union_n([{namespace: {service.metadata.name: true}} |
	service := input[_]
	service.kind == "Service"
	namespace := object.get(service.metadata, "namespace", "default")
])
