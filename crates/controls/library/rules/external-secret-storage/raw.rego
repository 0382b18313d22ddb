package armo_builtins

import rego.v1

# Secrets should be encrypted through an external KMS, i.e. the encryption
# configuration lists a kms provider for secrets.
deny contains msga if {
	some obj in input
	obj.kind == "ControlPlaneInfo"
	config := yaml.unmarshal(base64.decode(obj.data.APIServerInfo.encryptionProviderConfigFile.content))
	not secrets_use_kms(config)
	resources := object.get(config, "resources", [])
	new_entry := count(resources)
	msga := {
		"alertMessage": "The API server encryption configuration does not use a KMS provider for secrets",
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [
			{"path": sprintf("resources[%d].resources[0]", [new_entry]), "value": "secrets"},
			{"path": sprintf("resources[%d].providers[0].kms", [new_entry]), "value": "YOUR_EXTERNAL_KMS"},
		],
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": {
			"apiVersion": config.apiVersion,
			"kind": config.kind,
			"name": "encryption-provider-config",
			"resources": resources,
		}},
	}
}

secrets_use_kms(config) if {
	some entry in config.resources
	"secrets" in entry.resources
	some provider in entry.providers
	provider.kms
}
