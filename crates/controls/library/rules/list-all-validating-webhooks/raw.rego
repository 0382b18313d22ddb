package armo_builtins

import rego.v1

# Every validating admission webhook is listed for review: each one sees (and can reject)
# the objects sent to the API server, secrets included, so an unknown one needs a look.
deny contains msga if {
	webhook := input[_]
	webhook.kind == "ValidatingWebhookConfiguration"

	msga := {
		"alertMessage": sprintf("Review validating webhook configuration %s", [webhook.metadata.name]),
		"alertScore": 6,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [webhook]},
	}
}
