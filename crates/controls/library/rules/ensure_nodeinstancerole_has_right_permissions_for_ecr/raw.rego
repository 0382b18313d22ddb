package armo_builtins

import rego.v1

# Worker nodes only need to pull images: the node instance role may read from
# ECR but must not push, delete or administer repositories.
deny contains msga if {
	some entities in input
	entities.kind == "ListEntitiesForPolicies"
	some documents in input
	documents.kind == "PolicyVersion"

	some policy_arn, attachment in entities.data.rolesPolicies
	some role in as_array(attachment.PolicyRoles)
	contains(role.RoleName, "NodeInstanceRole")
	some statement in as_array(documents.data.policiesDocuments[policy_arn].Statement)
	statement.Effect == "Allow"
	some action in as_list(statement.Action)
	not read_only_ecr_action(action)
	ecr_action(action)

	msga := {
		"alertMessage": sprintf("Role %s can do more than read from Amazon ECR (%s allows %s)", [role.RoleName, policy_arn, action]),
		"alertScore": 6,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": entities},
	}
}

ecr_action(action) if action == "*"

ecr_action(action) if startswith(lower(action), "ecr:")

read_only_ecr_action(action) if lower(action) in {
	"ecr:getauthorizationtoken",
	"ecr:batchchecklayeravailability",
	"ecr:getdownloadurlforlayer",
	"ecr:batchgetimage",
	"ecr:describerepositories",
	"ecr:describeimages",
	"ecr:listimages",
	"ecr:getrepositorypolicy",
	"ecr:getlifecyclepolicy",
	"ecr:getlifecyclepolicypreview",
	"ecr:listtagsforresource",
	"ecr:describeimagescanfindings",
}

as_list(x) := x if is_array(x)

as_list(x) := [x] if is_string(x)

# The APIs report missing lists as null.
as_array(x) := x if is_array(x)

as_array(x) := [] if not is_array(x)
