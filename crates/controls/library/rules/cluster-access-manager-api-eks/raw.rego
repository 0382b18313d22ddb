package armo_builtins

import rego.v1

# EKS access entries (Cluster Access Manager API) replace the aws-auth
# ConfigMap; clusters still in CONFIG_MAP mode cannot use them.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "eks.amazonaws.com/")
	not access_api_enabled(eks_cluster(obj))
	msga := {
		"alertMessage": "The EKS cluster does not use the Cluster Access Manager API (authentication mode is CONFIG_MAP)",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

eks_cluster(obj) := obj.data.Cluster

eks_cluster(obj) := obj.data.cluster if not obj.data.Cluster

access_api_enabled(cluster) if {
	mode := object.get(cluster, ["AccessConfig", "AuthenticationMode"], object.get(cluster, ["accessConfig", "authenticationMode"], "CONFIG_MAP"))
	mode in {"API", "API_AND_CONFIG_MAP"}
}
