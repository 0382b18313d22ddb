package armo_builtins

import rego.v1

# Without any IAM policy documents there is nothing restricting access to ECR.
deny contains msga if {
	some obj in input
	obj.kind == "PolicyVersion"
	count(object.get(obj, ["data", "policiesDocuments"], {})) == 0
	msga := {
		"alertMessage": "No IAM policies were found to restrict access to Amazon ECR",
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}
