package armo_builtins

import rego.v1

# AWS LoadBalancer Services serving HTTPS (port 443) must terminate TLS on the load
# balancer with a certificate (the aws-load-balancer-ssl-cert annotation).
deny contains msga if {
	service := input[_]
	service.kind == "Service"
	service.spec.type == "LoadBalancer"
	some port in service.spec.ports
	port.port == 443
	not service.metadata.annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"]

	msga := {
		"alertMessage": sprintf("LoadBalancer Service %s serves port 443 without a TLS certificate on the load balancer", [service.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": "metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert']", "value": "AWS_LOADBALANCER_SSL_CERT"}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": service},
	}
}
