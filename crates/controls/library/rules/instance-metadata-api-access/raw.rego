package armo_builtins

import rego.v1

# The host sensor reports whether the node can reach its cloud provider's
# instance metadata endpoint.
deny contains msga if {
	some obj in input
	lower(obj.kind) == "cloudproviderinfo"
	obj.data.providerMetaDataAPIAccess == true
	msga := {
		"alertMessage": sprintf("Node '%s' can reach the cloud provider's instance metadata API", [obj.metadata.name]),
		"alertScore": 1,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}
