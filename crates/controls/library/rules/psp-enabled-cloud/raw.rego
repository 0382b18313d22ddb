package armo_builtins

import rego.v1

# GKE clusters (before PodSecurityPolicy was removed) report the admission
# controller's state in pod_security_policy_config.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "container.googleapis.com/")
	not obj.data.pod_security_policy_config.enabled == true
	msga := {
		"alertMessage": "PodSecurityPolicy admission is not enabled on the GKE cluster",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "gcloud beta container clusters update <cluster_name> --enable-pod-security-policy",
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}
