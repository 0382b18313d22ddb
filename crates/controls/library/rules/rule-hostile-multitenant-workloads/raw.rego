package armo_builtins

import rego.v1

# Whether hostile tenants share the cluster cannot be read from its objects: this always
# raises one alert so the control is handed to a person for manual review.
deny contains msga if {
	msga := {
		"alertMessage": "Review manually whether mutually untrusted (hostile) tenants run workloads in this cluster; Kubernetes namespaces alone do not isolate them.",
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {},
	}
}
