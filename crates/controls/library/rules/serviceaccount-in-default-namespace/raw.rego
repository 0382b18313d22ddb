package armo_builtins

import rego.v1

# ServiceAccounts placed in the default namespace (explicitly, or by leaving the namespace unset)
# share it with everything else deployed without thought, which defeats namespace-scoped
# RBAC, quotas and network policies.
deny contains msga if {
	resource := input[_]
	finding := default_namespace_finding(resource.metadata)

	msga := {
		"alertMessage": sprintf("%s %s is in the default namespace", [resource.kind, resource.metadata.name]),
		"alertScore": 3,
		"reviewPaths": finding.paths,
		"failedPaths": finding.paths,
		"fixPaths": finding.fixes,
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [resource]},
	}
}

default_namespace_finding(metadata) := {"paths": ["metadata.namespace"], "fixes": []} if {
	metadata.namespace == "default"
}

# Without a namespace the object lands in the default one when applied.
default_namespace_finding(metadata) := {"paths": [], "fixes": [{"path": "metadata.namespace", "value": "YOUR_NAMESPACE"}]} if {
	not metadata.namespace
}
