package armo_builtins

import rego.v1

# Agent sandboxes run untrusted, model-generated code; their pods must use a hardened
# runtime class (for example gVisor or Kata) from the configured list instead of the
# node's default container runtime.
deny contains msga if {
	template := input[_]
	template.kind == "SandboxTemplate"
	runtime_class := object.get(template, ["spec", "podTemplate", "spec", "runtimeClassName"], "")
	not runtime_class in data.postureControlInputs.hardenedSandboxRuntimeClasses

	msga := {
		"alertMessage": sprintf("SandboxTemplate %s does not use a hardened runtime class (runtimeClassName: %q)", [template.metadata.name, runtime_class]),
		"alertScore": 7,
		"failedPaths": ["spec.podTemplate.spec.runtimeClassName"],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [template]},
	}
}
