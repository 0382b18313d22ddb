package armo_builtins

import rego.v1

# The first provider listed for secrets is the one used to write them; it must
# actually encrypt (identity stores plain text).
deny contains msga if {
	some obj in input
	obj.kind == "ControlPlaneInfo"
	config := yaml.unmarshal(base64.decode(obj.data.APIServerInfo.encryptionProviderConfigFile.content))
	some entry in config.resources
	"secrets" in entry.resources
	not encrypting_provider(entry.providers[0])
	msga := {
		"alertMessage": "Secrets are written with a provider that does not encrypt them (the first provider for secrets must be aescbc, aesgcm, secretbox or kms)",
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": {
			"apiVersion": config.apiVersion,
			"kind": config.kind,
			"name": "encryption-provider-config",
			"resources": config.resources,
		}},
	}
}

encrypting_provider(provider) if {
	some name, _ in provider
	name in {"aescbc", "aesgcm", "secretbox", "kms"}
}
