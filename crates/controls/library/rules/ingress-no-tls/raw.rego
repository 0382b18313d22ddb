package armo_builtins

import rego.v1

# Ingresses without a TLS section serve their hosts over plain HTTP.
deny contains msga if {
	ingress := input[_]
	ingress.kind == "Ingress"
	count(object.get(ingress.spec, "tls", [])) == 0

	msga := {
		"alertMessage": sprintf("Ingress %s has no TLS configuration", [ingress.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": "spec.tls", "value": "<your-tls-definition>"}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [ingress]},
	}
}
