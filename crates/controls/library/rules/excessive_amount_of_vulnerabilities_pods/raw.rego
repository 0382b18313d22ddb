package armo_builtins

import rego.v1

# A pod whose image has more critical or high vulnerabilities than the
# configured maximums (max_critical_vulnerabilities, max_high_vulnerabilities).
deny contains msga if {
	some pod in input
	pod.kind == "Pod"
	some i, container in pod.spec.containers
	report := image_report(container)
	too_many_vulnerabilities(report)
	msga := {
		"alertMessage": sprintf("Pod '%s' runs image %s with more critical or high vulnerabilities than allowed", [pod.metadata.name, container.image]),
		"alertScore": 7,
		"failedPaths": [sprintf("status.containerStatuses[%d].imageID", [i])],
		"reviewPaths": [sprintf("status.containerStatuses[%d].imageID", [i])],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": evidence(pod, report)},
	}
}

too_many_vulnerabilities(report) if severity_count(report, "Critical") > max_allowed("max_critical_vulnerabilities")

too_many_vulnerabilities(report) if severity_count(report, "High") > max_allowed("max_high_vulnerabilities")

severity_count(report, severity) := count([v | some v in report.data; v.severity == severity])

# Config inputs are lists of strings, e.g. ["5"].
max_allowed(key) := to_number(data.postureControlInputs[key][0])

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
