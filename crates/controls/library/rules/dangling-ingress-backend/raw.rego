package armo_builtins

import rego.v1

# Ingress backends that point to a Service which does not exist in the Ingress's
# namespace. Such a dangling route fails today and is silently taken over by whoever
# later creates a Service with that name.
deny contains msga if {
	ingress := input[_]
	ingress.kind == "Ingress"
	namespace := object.get(ingress.metadata, "namespace", "default")
	some ref in service_backends(ingress)
	not service_exists(ref.name, namespace)

	msga := {
		"alertMessage": sprintf("Ingress %s routes to Service %s, which does not exist in namespace %s", [ingress.metadata.name, ref.name, namespace]),
		"alertScore": 4,
		"failedPaths": [ref.path],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [ingress]},
	}
}

service_backends(ingress) := refs if {
	default_backend := [{"name": name, "path": "spec.defaultBackend.service.name"} |
		name := ingress.spec.defaultBackend.service.name
	]
	rule_backends := [{"name": path_entry.backend.service.name, "path": sprintf("spec.rules[%d].http.paths[%d].backend.service.name", [i, j])} |
		some i, rule in ingress.spec.rules
		some j, path_entry in rule.http.paths
		path_entry.backend.service.name
	]
	refs := array.concat(default_backend, rule_backends)
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
