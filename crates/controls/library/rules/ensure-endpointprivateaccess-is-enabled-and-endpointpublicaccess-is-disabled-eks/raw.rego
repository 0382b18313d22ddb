package armo_builtins

import rego.v1

# The EKS API endpoint should be reachable from the VPC only.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "eks.amazonaws.com/")
	exposed_endpoint(obj)
	msga := {
		"alertMessage": "The EKS API endpoint is public, or private access to it is disabled",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "aws eks update-cluster-config --region $AWS_REGION --name $CLUSTER_NAME --resources-vpc-config endpointPrivateAccess=true,endpointPublicAccess=true,publicAccessCidrs='203.0.113.5/32'",
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

exposed_endpoint(obj) if vpc_setting(obj, "EndpointPrivateAccess", "endpointPrivateAccess") != true

exposed_endpoint(obj) if vpc_setting(obj, "EndpointPublicAccess", "endpointPublicAccess") != false

eks_cluster(obj) := obj.data.Cluster

eks_cluster(obj) := obj.data.cluster if not obj.data.Cluster

# PascalCase (AWS SDK) or camelCase (AWS API) field of the VPC configuration.
vpc_setting(obj, pascal, camel) := value if {
	cluster := eks_cluster(obj)
	value := object.get(cluster, ["ResourcesVpcConfig", pascal], object.get(cluster, ["resourcesVpcConfig", camel], null))
}
