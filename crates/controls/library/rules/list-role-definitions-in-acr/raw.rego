package armo_builtins

import rego.v1

# Lists the Azure role assignments, for manual review of who can access the container registry.
deny contains msga if {
	some obj in input
	obj.kind == "ListEntitiesForPolicies"
	startswith(obj.apiVersion, "management.azure.com/")
	msga := {
		"alertMessage": "",
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}
