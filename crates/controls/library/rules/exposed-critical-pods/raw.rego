package armo_builtins

import rego.v1

# A pod reachable from outside the cluster that runs an image with critical
# vulnerabilities.
deny contains msga if {
	some pod in input
	pod.kind == "Pod"
	exposed(pod)
	some i, container in pod.spec.containers
	report := image_report(container)
	some vulnerability in report.data
	vulnerability.severity == "Critical"
	msga := {
		"alertMessage": sprintf("Pod '%s' is exposed by a Service and its image %s has critical vulnerabilities", [pod.metadata.name, container.image]),
		"alertScore": 8,
		"failedPaths": [sprintf("status.containerStatuses[%d].imageID", [i])],
		"reviewPaths": [sprintf("status.containerStatuses[%d].imageID", [i])],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": evidence(pod, report)},
	}
}

# The pod is selected by a Service that is reachable from outside the cluster.
exposed(pod) if {
	some service in external_services[object.get(pod.metadata, "namespace", "default")]
	count(service.spec.selector) > 0
	every key, value in service.spec.selector {
		pod.metadata.labels[key] == value
	}
}

# NodePort and LoadBalancer services, grouped by namespace once per evaluation instead of
# scanning the whole input for every pod: {namespace: {input index: service}}.
external_services := object.union_n([{namespace: {i: service}} |
	some i, service in input
	service.kind == "Service"
	service.spec.type in {"NodePort", "LoadBalancer"}
	namespace := object.get(service.metadata, "namespace", "default")
])

is_vulnerability_report(obj) if obj.kind == "ImageVulnerabilities"

# The scan report of the image a container runs, matched by image name.
image_report(container) := report if {
	some report in vulnerability_reports[container.image]
}

# Reports indexed by image once per evaluation (package-level rules are cached) instead of
# scanning the whole input for every container: {image: {input index: report}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
vulnerability_reports := object.union_n([{report.metadata.name: {i: report}} |
	some i, report in input
	is_vulnerability_report(report)
])

evidence(pod, report) := {
	"apiVersion": "result.vulnscan.com/v1",
	"kind": pod.kind,
	"metadata": {"name": pod.metadata.name, "namespace": pod.metadata.namespace},
	"relatedObjects": [pod, report],
}
