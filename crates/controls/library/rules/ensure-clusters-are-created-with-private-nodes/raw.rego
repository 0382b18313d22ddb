package armo_builtins

import rego.v1

# Nodes of a private AKS cluster talk to the API server over the private network only.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "management.azure.com/")
	not private_cluster(obj.data.properties)
	msga := {
		"alertMessage": "The AKS cluster is not a private cluster, so its nodes are not private",
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "az aks create --resource-group <private-cluster-resource-group> --name <private-cluster-name> --load-balancer-sku standard --enable-private-cluster --network-plugin azure --vnet-subnet-id <subnet-id> --docker-bridge-address --dns-service-ip --service-cidr",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

# A private AKS cluster exposes its API server only on a private endpoint.
private_cluster(properties) if properties.apiServerAccessProfile.enablePrivateCluster == true

private_cluster(properties) if properties.privateEndpoint.id

