package armo_builtins

import rego.v1

# Traffic entering through Ingresses must be TLS-encrypted, and (on AKS) LoadBalancer
# Services should stay internal, with external HTTPS terminated by a TLS-enabled
# Ingress / application gateway instead of a plain public load balancer.
deny contains msga if {
	ingress := input[_]
	ingress.kind == "Ingress"
	count(object.get(ingress.spec, "tls", [])) == 0

	msga := {
		"alertMessage": sprintf("Ingress %s does not terminate TLS", [ingress.metadata.name]),
		"alertScore": 7,
		"reviewPaths": ["spec.tls"],
		"failedPaths": ["spec.tls"],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [ingress]},
	}
}

deny contains msga if {
	service := input[_]
	service.kind == "Service"
	service.spec.type == "LoadBalancer"
	annotation := "service.beta.kubernetes.io/azure-load-balancer-internal"
	object.get(service.metadata, ["annotations", annotation], "") != "true"

	msga := {
		"alertMessage": sprintf("LoadBalancer Service %s is exposed through a public load balancer", [service.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("metadata.annotations[%s]", [annotation]), "value": "true"}],
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [service]},
	}
}
