package armo_builtins

import rego.v1

# NetworkPolicy objects are only enforced on AKS when a network policy engine
# (azure, calico or cilium) is configured for the cluster.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "management.azure.com/")
	not network_policy_engine(obj.data.properties.networkProfile)
	msga := {
		"alertMessage": "No network policy engine is configured on the AKS cluster",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

network_policy_engine(profile) if lower(profile.networkPolicy) in {"azure", "calico", "cilium"}
