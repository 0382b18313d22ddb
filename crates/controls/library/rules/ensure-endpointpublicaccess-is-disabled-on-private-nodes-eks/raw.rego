package armo_builtins

import rego.v1

# With private nodes the public endpoint is only acceptable when private access
# is on and the public endpoint is limited to specific CIDRs.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "eks.amazonaws.com/")
	vpc_setting(obj, "EndpointPublicAccess", "endpointPublicAccess") == true
	weak_public_access(obj)
	msga := {
		"alertMessage": "The EKS API endpoint is publicly reachable without private access or CIDR restrictions",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "aws eks update-cluster-config --region $AWS_REGION --name $CLUSTER_NAME --resources-vpc-config endpointPrivateAccess=true,endpointPublicAccess=false",
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

weak_public_access(obj) if vpc_setting(obj, "EndpointPrivateAccess", "endpointPrivateAccess") != true

weak_public_access(obj) if {
	cidrs := vpc_setting(obj, "PublicAccessCidrs", "publicAccessCidrs")
	is_array(cidrs)
	"0.0.0.0/0" in cidrs
}

eks_cluster(obj) := obj.data.Cluster

eks_cluster(obj) := obj.data.cluster if not obj.data.Cluster

# PascalCase (AWS SDK) or camelCase (AWS API) field of the VPC configuration.
vpc_setting(obj, pascal, camel) := value if {
	cluster := eks_cluster(obj)
	value := object.get(cluster, ["ResourcesVpcConfig", pascal], object.get(cluster, ["resourcesVpcConfig", camel], null))
}
