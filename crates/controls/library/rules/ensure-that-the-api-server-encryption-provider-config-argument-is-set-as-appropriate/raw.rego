package armo_builtins

import rego.v1

# Secrets are only encrypted at rest when the API server is started with
# --encryption-provider-config and that configuration covers secrets.

deny contains msga if {
	some pod in input
	pod.kind == "Pod"
	some i, container in pod.spec.containers
	is_api_server(container)
	not sets_encryption_config(container)
	msga := {
		"alertMessage": "The API server is started without --encryption-provider-config, so secrets are stored unencrypted in etcd",
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [{
			"path": append_path(container, i),
			"value": "--encryption-provider-config=<path/to/encryption-config.yaml>",
		}],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [pod]},
	}
}

deny contains msga if {
	some obj in input
	obj.kind == "ControlPlaneInfo"
	config := yaml.unmarshal(base64.decode(obj.data.APIServerInfo.encryptionProviderConfigFile.content))
	not covers_secrets(config)
	msga := {
		"alertMessage": "The encryption provider configuration has no entry for secrets",
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": {
			"apiVersion": config.apiVersion,
			"kind": config.kind,
			"name": "encryption-provider-config",
			"resources": object.get(config, "resources", []),
		}},
	}
}

is_api_server(container) if contains(container.command[0], "kube-apiserver")

container_flags(container) := array.concat(object.get(container, "command", []), object.get(container, "args", []))

sets_encryption_config(container) if {
	some entry in container_flags(container)
	regex.match(`(^|\s)--encryption-provider-config=\S`, entry)
}

# A new flag goes after the last argument (args when the container has them).
append_path(container, i) := sprintf("spec.containers[%d].args[%d]", [i, count(container.args)]) if container.args

append_path(container, i) := sprintf("spec.containers[%d].command[%d]", [i, count(container.command)]) if not container.args

covers_secrets(config) if {
	some entry in config.resources
	some resource in entry.resources
	resource in {"secrets", "*.*", "*."}
}
