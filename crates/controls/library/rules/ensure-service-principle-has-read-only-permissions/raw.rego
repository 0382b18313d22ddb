package armo_builtins

import rego.v1

# Service principals (e.g. the cluster's identity) should only be able to read
# from Azure Container Registry, not push or manage it.
deny contains msga if {
	some assignments in input
	assignments.kind == "ListEntitiesForPolicies"
	some definitions in input
	definitions.kind == "PolicyVersion"

	some assignment in as_array(assignments.data.roleAssignments)
	assignment.properties.principalType == "ServicePrincipal"
	some role in as_array(definitions.data.roleDefinitions)
	role.id == assignment.properties.roleDefinitionId
	some permission in as_array(role.properties.permissions)
	some action in as_array(permission.actions)
	writes_to_registry(action)

	msga := {
		"alertMessage": "A service principal holds a role that can modify Azure Container Registry",
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": assignments},
	}
}

writes_to_registry(action) if action == "*"

writes_to_registry(action) if {
	startswith(lower(action), "microsoft.containerregistry/")
	not endswith(lower(action), "/read")
}

# Lists the sensor or cloud API could not fill arrive as null.
as_array(x) := x if is_array(x)

as_array(x) := [] if not is_array(x)
