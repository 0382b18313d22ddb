package armo_builtins

import rego.v1

# Azure RBAC lets Azure AD role assignments govern access to the AKS API.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "management.azure.com/")
	not obj.data.properties.aadProfile.enableAzureRBAC == true
	msga := {
		"alertMessage": "Azure RBAC is not enabled on the AKS cluster",
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "az aks update -g <resource_group> -n <cluster_name> --enable-azure-rbac",
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}
