package armo_builtins

import rego.v1

# ConfigMap entries that look like credentials: a key named like a secret, or a value
# matching a known secret pattern (also after base64 decoding). ConfigMaps are not
# protected like Secrets, so such values leak to anyone who can read them.
# The key/value lists come from the control's configuration inputs.
deny contains msga if {
	configmap := input[_]
	configmap.kind == "ConfigMap"
	some key, value in configmap.data
	looks_sensitive(key, value)
	not is_allowed(key, value)

	path := sprintf("data[%s]", [key])
	msga := {
		"alertMessage": sprintf("ConfigMap %s may hold a credential in key %s", [configmap.metadata.name, key]),
		"alertScore": 9,
		"deletePaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [configmap]},
	}
}

looks_sensitive(key, _) if {
	some name in data.postureControlInputs.sensitiveKeyNames
	contains(lower(key), lower(name))
}

looks_sensitive(_, value) if {
	some pattern in data.postureControlInputs.sensitiveValues
	regex.match(pattern, value)
}

looks_sensitive(_, value) if {
	decoded := base64.decode(value)
	some pattern in data.postureControlInputs.sensitiveValues
	regex.match(pattern, decoded)
}

is_allowed(key, _) if {
	some name in data.postureControlInputs.sensitiveKeyNamesAllowed
	contains(lower(key), lower(name))
}

is_allowed(_, value) if {
	some pattern in data.postureControlInputs.sensitiveValuesAllowed
	regex.match(pattern, value)
}
