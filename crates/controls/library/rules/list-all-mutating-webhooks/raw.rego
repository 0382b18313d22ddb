package armo_builtins

import rego.v1

# Every mutating admission webhook is listed for review: each one can rewrite objects on
# their way into the cluster, so an unknown one may be an attacker's persistence.
deny contains msga if {
	webhook := input[_]
	webhook.kind == "MutatingWebhookConfiguration"

	msga := {
		"alertMessage": sprintf("Review mutating webhook configuration %s", [webhook.metadata.name]),
		"alertScore": 6,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [webhook]},
	}
}
