package armo_builtins

import rego.v1

# PersistentVolumes whose StorageClass does not ask the cloud provider to encrypt the
# disk (EBS "encrypted", Azure disk encryption set, a KMS key, ...). GCE persistent disks
# are always encrypted at rest, so GKE classes pass.
deny contains msga if {
	pv := input[_]
	pv.kind == "PersistentVolume"
	some storage_class in storage_classes[pv.spec.storageClassName]
	not is_encrypted(storage_class)

	msga := {
		"alertMessage": sprintf("PersistentVolume %s uses StorageClass %s, which does not enable encryption", [pv.metadata.name, storage_class.metadata.name]),
		"alertScore": 7,
		"failedPaths": [],
		"fixPaths": [{"path": "spec.storageClassName", "value": "<your encrypted storage class>"}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [pv]},
	}
}

# Storage classes indexed by name once per evaluation (package-level rules are cached)
# instead of scanning the whole input for every volume: {name: {input index: class}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
storage_classes := object.union_n([{storage_class.metadata.name: {i: storage_class}} |
	some i, storage_class in input
	storage_class.kind == "StorageClass"
])

is_encrypted(storage_class) if storage_class.provisioner in {"pd.csi.storage.gke.io", "kubernetes.io/gce-pd"}

is_encrypted(storage_class) if lower(sprintf("%v", [storage_class.parameters.encrypted])) == "true"

# Customer-managed keys: Azure disk encryption sets, KMS key ids of other providers.
is_encrypted(storage_class) if {
	some key, value in storage_class.parameters
	some marker in ["diskencryptionsetid", "kms", "encryption-key", "encryptionkey"]
	contains(lower(key), marker)
	value != ""
}
