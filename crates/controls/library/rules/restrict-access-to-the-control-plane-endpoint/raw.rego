package armo_builtins

import rego.v1

# A public AKS API server should only accept connections from authorized IP ranges.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "management.azure.com/")
	not restricted_endpoint(obj.data.properties)
	msga := {
		"alertMessage": "The AKS API server accepts connections from any address (authorizedIPRanges is not set)",
		"alertScore": 7,
		"failedPaths": [],
		"reviewPaths": [],
		"fixPaths": [],
		"fixCommand": "az aks update -n '<name>' -g '<resource_group>' --api-server-authorized-ip-ranges '0.0.0.0/32'",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

restricted_endpoint(properties) if count(properties.apiServerAccessProfile.authorizedIPRanges) > 0
