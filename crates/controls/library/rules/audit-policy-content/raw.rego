package armo_builtins

import rego.v1

# The API server's audit policy must cover the key security concerns: access to secrets,
# configmaps and token reviews recorded at the Metadata level (higher levels would copy
# their contents into the log), changes to pods and deployments, and the exec /
# port-forward / proxy sub-resources. Input: the control plane host data.
# Needs the yaml.unmarshal builtin to read the policy file.

# An object rather than top-level sets: every set in this package is read as alerts.
concerns := {
	# Must be logged, and only at the Metadata level.
	"metadata_only": {"secrets", "configmaps", "tokenreviews"},
	# Must be logged at some level.
	"logged": {"pods", "deployments", "pods/exec", "pods/portforward", "pods/proxy", "services/proxy"},
}

deny contains msga if {
	info := input[_]
	info.kind == "ControlPlaneInfo"
	cmd := info.data.APIServerInfo.cmdLine
	not contains(cmd, "--audit-policy-file=")

	msga := {
		"alertMessage": "The API server runs without an audit policy (--audit-policy-file is not set)",
		"alertScore": 5,
		"failedPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": {
			"apiVersion": info.apiVersion,
			"kind": info.kind,
			"metadata": info.metadata,
			"data": cmd,
		}},
	}
}

deny contains msga if {
	info := input[_]
	info.kind == "ControlPlaneInfo"
	contains(info.data.APIServerInfo.cmdLine, "--audit-policy-file=")
	policy := yaml.unmarshal(base64.decode(info.data.APIServerInfo.auditPolicyFile.content))
	not covers_key_concerns(policy)

	msga := {
		"alertMessage": "The audit policy does not cover all key security concerns at the right level",
		"alertScore": 5,
		"failedPaths": [],
		"fixPaths": [],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": object.union(policy, {"metadata": {"name": sprintf("%s - Audit policy file", [info.metadata.name])}})},
	}
}

covers_key_concerns(policy) if {
	every resource in concerns.metadata_only {
		"Metadata" in levels_for(policy, resource)
		every level in levels_for(policy, resource) {
			level == "Metadata"
		}
	}
	every resource in concerns.logged {
		some level in levels_for(policy, resource)
		level != "None"
	}
}

# The levels of all policy rules that name the resource explicitly.
levels_for(policy, resource) := {rule.level |
	some rule in policy.rules
	some group in rule.resources
	resource in group.resources
}
