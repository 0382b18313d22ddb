package armo_builtins

import rego.v1

# Any CronJob is reported: scheduled jobs are a classic persistence mechanism,
# so each one deserves a look.
deny contains msga if {
	obj := input[_]
	obj.kind == "CronJob"
	msga := {
		"alertMessage": sprintf("CronJob %v is defined; make sure it is expected", [obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 2,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}
