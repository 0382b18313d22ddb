package armo_builtins

import rego.v1

# PodSecurityPolicies that let containers add Linux capabilities (allowedCapabilities). A pod is admitted if any policy available to
# it allows it, so this is only reported when every PodSecurityPolicy allows it;
# then each of them is listed.
deny contains msga if {
	psp := input[_]
	psp.kind == "PodSecurityPolicy"
	allows(psp)
	not some_policy_forbids

	msga := {
		"alertMessage": sprintf("PodSecurityPolicy %s lets containers add capabilities", [psp.metadata.name]),
		"alertScore": 0,
		"deletePaths": ["spec.allowedCapabilities"],
		"failedPaths": ["spec.allowedCapabilities"],
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

allows(psp) if count(psp.spec.allowedCapabilities) > 0
