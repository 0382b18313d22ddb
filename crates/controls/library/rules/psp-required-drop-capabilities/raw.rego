package armo_builtins

import rego.v1

# PodSecurityPolicies that do not make containers drop all Linux capabilities (requiredDropCapabilities: ALL). A pod is admitted if any policy available to
# it allows it, so this is only reported when every PodSecurityPolicy allows it;
# then each of them is listed.
deny contains msga if {
	psp := input[_]
	psp.kind == "PodSecurityPolicy"
	allows(psp)
	not some_policy_forbids

	msga := {
		"alertMessage": sprintf("PodSecurityPolicy %s does not require dropping all capabilities", [psp.metadata.name]),
		"alertScore": 0,
		"failedPaths": [],
		"fixPaths": [{"path": sprintf("spec.requiredDropCapabilities[%d]", [drop_count(psp)]), "value": "ALL"}],
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

allows(psp) if not drops_all(psp)

drops_all(psp) if {
	some capability in psp.spec.requiredDropCapabilities
	upper(capability) == "ALL"
}

# The fix appends "ALL" after any capabilities already listed.
drop_count(psp) := count(psp.spec.requiredDropCapabilities) if {
	is_array(psp.spec.requiredDropCapabilities)
} else := 0
