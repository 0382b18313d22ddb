package armo_builtins

import rego.v1

# A Pod created directly, with no controller owning it, is not rescheduled when its node
# fails and cannot be rolled out or scaled. Run it from a Deployment, StatefulSet or Job.
deny contains msga if {
	some pod in input
	pod.kind == "Pod"
	count(object.get(pod.metadata, "ownerReferences", [])) == 0
	msga := {
		"alertMessage": sprintf("Pod %s is not managed by any controller", [pod.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 3,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [pod]},
	}
}
