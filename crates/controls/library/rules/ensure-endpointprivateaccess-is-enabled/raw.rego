package armo_builtins

import rego.v1

# Nodes and in-VPC clients should reach the EKS API through the private endpoint.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "eks.amazonaws.com/")
	vpc_setting(obj, "EndpointPrivateAccess", "endpointPrivateAccess") != true
	msga := {
		"alertMessage": "Private access to the EKS API endpoint is disabled",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "aws eks update-cluster-config --region $AWS_REGION --name $CLUSTER_NAME --resources-vpc-config endpointPrivateAccess=true",
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

eks_cluster(obj) := obj.data.Cluster

eks_cluster(obj) := obj.data.cluster if not obj.data.Cluster

# PascalCase (AWS SDK) or camelCase (AWS API) field of the VPC configuration.
vpc_setting(obj, pascal, camel) := value if {
	cluster := eks_cluster(obj)
	value := object.get(cluster, ["ResourcesVpcConfig", pascal], object.get(cluster, ["resourcesVpcConfig", camel], null))
}
