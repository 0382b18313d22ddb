package armo_builtins

import rego.v1

# Secrets stored by the managed control plane should be encrypted with a
# customer-managed key (envelope encryption).

deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "management.azure.com/")
	not aks_encrypted(obj.data.properties)
	msga := alert(obj, "az aks nodepool add --name hostencrypt --cluster-name <myAKSCluster> --resource-group <myResourceGroup> -s Standard_DS2_v2 -l <myRegion> --enable-encryption-at-host")
}

deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "eks.amazonaws.com/")
	not eks_secrets_encrypted(eks_cluster(obj))
	msga := alert(obj, "eksctl utils enable-secrets-encryption --cluster=<cluster> --key-arn=arn:aws:kms:<cluster_region>:<account>:key/<key> --region=<region>")
}

deny contains msga if {
	some obj in input
	obj.kind == "ClusterDescribe"
	startswith(obj.apiVersion, "container.googleapis.com/")
	not gke_encrypted(obj.data)
	msga := object.union(
		alert(obj, "gcloud container clusters update <cluster_name> --region=<compute_region> --database-encryption-key=<key_project_id>/locations/<location>/keyRings/<ring_name>/cryptoKeys/<key_name> --project=<cluster_project_id>"),
		{
			"failedPaths": ["data.database_encryption.state"],
			"reviewPaths": ["data.database_encryption.state"],
		},
	)
}

alert(obj, fix) := {
	"alertMessage": "Secrets in etcd are not encrypted with a customer-managed key",
	"alertScore": 3,
	"failedPaths": [],
	"fixPaths": [],
	"fixCommand": fix,
	"ruleStatus": "",
	"packagename": "armo_builtins",
	"alertObject": {"externalObjects": obj},
}

aks_encrypted(properties) if properties.securityProfile.azureKeyVaultKms.enabled == true

aks_encrypted(properties) if {
	some pool in properties.agentPoolProfiles
	pool.enableEncryptionAtHost == true
}

eks_cluster(obj) := obj.data.Cluster

eks_cluster(obj) := obj.data.cluster if not obj.data.Cluster

eks_secrets_encrypted(cluster) if {
	some config in as_array(object.get(cluster, "EncryptionConfig", object.get(cluster, "encryptionConfig", [])))
	"secrets" in as_array(object.get(config, "Resources", object.get(config, "resources", [])))
}

# The API reports missing lists as null.
as_array(x) := x if is_array(x)

as_array(x) := [] if not is_array(x)

# database_encryption.state: 1 / "ENCRYPTED" (2 / "DECRYPTED" otherwise).
gke_encrypted(data) if data.database_encryption.state in {1, "ENCRYPTED"}
