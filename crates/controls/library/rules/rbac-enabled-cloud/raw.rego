package armo_builtins

import rego.v1

# Kubernetes RBAC must be enabled on the managed cluster.

deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "management.azure.com/")
	not obj.data.properties.enableRBAC == true
	msga := alert(obj, "data.properties.enableRBAC")
}

# GKE always runs RBAC, but legacy ABAC grants access around it.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "container.googleapis.com/")
	obj.data.legacy_abac.enabled == true
	msga := alert(obj, "data.legacy_abac.enabled")
}

alert(obj, path) := {
	"alertMessage": "Kubernetes RBAC is not (solely) in charge of authorization on the cluster",
	"alertScore": 3,
	"failedPaths": [path],
	"reviewPaths": [path],
	"fixPaths": [],
	"fixCommand": "",
	"packagename": "armo_builtins",
	"alertObject": {"externalObjects": obj},
}
