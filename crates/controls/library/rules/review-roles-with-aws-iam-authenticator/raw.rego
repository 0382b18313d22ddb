package armo_builtins

import rego.v1

# RBAC users mapped through the AWS IAM authenticator cannot be verified from the cluster
# objects alone: every Role is listed for a manual review.
deny contains msga if {
	role := input[_]
	role.kind == "Role"

	msga := {
		"alertMessage": sprintf("Review Role %s and the IAM identities mapped to it", [role.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": role},
	}
}
