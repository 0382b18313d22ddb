package armo_builtins

import rego.v1

# PodSecurityPolicies that allow privileged containers. A pod is admitted if any policy available to
# it allows it, so this is only reported when every PodSecurityPolicy allows it;
# then each of them is listed.
deny contains msga if {
	psp := input[_]
	psp.kind == "PodSecurityPolicy"
	allows(psp)
	not some_policy_forbids

	msga := {
		"alertMessage": sprintf("PodSecurityPolicy %s allows privileged containers", [psp.metadata.name]),
		"alertScore": 0,
		"deletePaths": ["spec.privileged"],
		"failedPaths": ["spec.privileged"],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [psp]},
	}
}

some_policy_forbids if {
	psp := input[_]
	psp.kind == "PodSecurityPolicy"
	not allows(psp)
}

allows(psp) if psp.spec.privileged == true
