package armo_builtins

import rego.v1

# Lists every namespace for review: checking that resources are separated into
# namespaces along team/application boundaries needs a human decision.
deny contains msga if {
	namespace := input[_]
	namespace.kind == "Namespace"

	msga := {
		"alertMessage": sprintf("Review whether namespace %s is a meaningful administrative boundary", [namespace.metadata.name]),
		"alertScore": 9,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [namespace]},
	}
}
