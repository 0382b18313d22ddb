package armo_builtins

import rego.v1

# Managed control planes only keep API audit logs when the provider's logging
# for them is switched on.

# EKS: every control-plane log type must be enabled.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "eks.amazonaws.com/")
	cluster := eks_cluster(obj)
	some log_type in ["api", "audit", "authenticator", "controllerManager", "scheduler"]
	not eks_log_enabled(cluster, log_type)
	msga := {
		"alertMessage": "Control-plane audit logging is not fully enabled on the EKS cluster",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "aws eks update-cluster-config --region '${REGION_CODE}' --name '${CLUSTER_NAME}' --logging '{'clusterLogging':[{'types':['api','audit','authenticator','controllerManager','scheduler'],'enabled':true}]}'",
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

# GKE: Cloud Logging must not be disabled for the cluster.
deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "container.googleapis.com/")
	gke_logging_disabled(obj.data)
	msga := {
		"alertMessage": "Cloud Logging (and with it audit logging) is disabled on the GKE cluster",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

# The describe output comes in PascalCase (AWS SDK) or camelCase (AWS API).
eks_cluster(obj) := obj.data.Cluster

eks_cluster(obj) := obj.data.cluster if not obj.data.Cluster

eks_log_enabled(cluster, log_type) if {
	some setting in as_array(object.get(cluster, ["Logging", "ClusterLogging"], object.get(cluster, ["logging", "clusterLogging"], [])))
	object.get(setting, "Enabled", object.get(setting, "enabled", false)) == true
	log_type in as_array(object.get(setting, "Types", object.get(setting, "types", [])))
}

# The API reports missing lists as null.
as_array(x) := x if is_array(x)

as_array(x) := [] if not is_array(x)

gke_logging_disabled(data) if data.logging_service == "none"

gke_logging_disabled(data) if {
	not data.logging_service
	not data.logging_config
}
