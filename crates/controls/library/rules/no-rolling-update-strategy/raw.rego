package armo_builtins

import rego.v1

# The Recreate strategy stops every old pod before starting new ones, so each
# rollout causes downtime; RollingUpdate replaces pods gradually.
deny contains msga if {
	obj := input[_]
	obj.kind == "Deployment"
	strategy := obj.spec.strategy.type
	strategy != "RollingUpdate"
	msga := {
		"alertMessage": sprintf("Deployment %v uses the %v strategy instead of RollingUpdate", [obj.metadata.name, strategy]),
		"packagename": "armo_builtins",
		"alertScore": 3,
		"ruleStatus": "",
		"reviewPaths": ["spec.strategy.type"],
		"failedPaths": ["spec.strategy.type"],
		"fixPaths": [{"path": "spec.strategy.type", "value": "RollingUpdate"}],
		"alertObject": {"k8sApiObjects": [obj]},
	}
}
