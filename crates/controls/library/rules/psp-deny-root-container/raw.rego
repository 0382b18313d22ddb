package armo_builtins

import rego.v1

# PodSecurityPolicies that let containers run as root (UID 0). A pod is admitted if any policy available to
# it allows it, so this is only reported when every PodSecurityPolicy allows it;
# then each of them is listed.
deny contains msga if {
	psp := input[_]
	psp.kind == "PodSecurityPolicy"
	allows(psp)
	not some_policy_forbids

	msga := {
		"alertMessage": sprintf("PodSecurityPolicy %s lets containers run as root", [psp.metadata.name]),
		"alertScore": 0,
		"deletePaths": ["spec.runAsUser.rule"],
		"failedPaths": ["spec.runAsUser.rule"],
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

allows(psp) if psp.spec.runAsUser.rule == "RunAsAny"

# MustRunAs only protects when none of its UID ranges includes 0.
allows(psp) if {
	psp.spec.runAsUser.rule == "MustRunAs"
	some range in psp.spec.runAsUser.ranges
	range.min <= 0
}
