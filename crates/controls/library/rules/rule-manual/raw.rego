package armo_builtins

import rego.v1

# Placeholder for controls that can only be checked by hand (configuration outside the
# cluster's objects): always raises one alert so the control is marked for manual review.
deny contains msga if {
	msga := {
		"alertMessage": "This control must be verified manually.",
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sObject": []},
	}
}
