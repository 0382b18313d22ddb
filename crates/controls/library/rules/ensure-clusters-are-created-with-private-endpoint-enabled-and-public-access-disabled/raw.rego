package armo_builtins

import rego.v1

# The AKS API server should be reachable through a private endpoint.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "management.azure.com/")
	not private_cluster(obj.data.properties)
	msga := {
		"alertMessage": "The AKS cluster has no private API endpoint",
		"alertScore": 8,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "az aks update --resource-group <resource-group> --name <cluster-name> --enable-private-cluster",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

# A private AKS cluster exposes its API server only on a private endpoint.
private_cluster(properties) if properties.apiServerAccessProfile.enablePrivateCluster == true

private_cluster(properties) if properties.privateEndpoint.id

