package armo_builtins

import rego.v1

# An autoscaler whose scale target does not exist does nothing: the workload it
# was meant to protect is not scaled.
deny contains msga if {
	hpa := input[_]
	hpa.kind == "HorizontalPodAutoscaler"
	target := hpa.spec.scaleTargetRef
	is_checked_kind(target.kind)
	not target_exists(hpa, target)
	msga := {
		"alertMessage": sprintf("HorizontalPodAutoscaler %v targets %v %v, which does not exist in namespace %v", [hpa.metadata.name, target.kind, target.name, namespace_of(hpa)]),
		"packagename": "armo_builtins",
		"alertScore": 4,
		"failedPaths": ["spec.scaleTargetRef.name"],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [hpa]},
	}
}

# Only built-in scalable kinds are checked; custom resources are not part of the input.
is_checked_kind(kind) if kind in {"Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"}

target_exists(hpa, target) if scalable_objects[namespace_of(hpa)][target.kind][target.name]

# Objects of the checked kinds, collected once per evaluation (package-level rules are cached)
# instead of scanning the whole input for every autoscaler: {namespace: {kind: {name: true}}}.
# object.union_n merges the one-entry objects recursively, which groups without conflicts.
# Package-level rules are all evaluated, so the index is only built when there are autoscalers.
scalable_objects := object.union_n([{namespace_of(obj): {obj.kind: {obj.metadata.name: true}}} |
	obj := input[_]
	is_checked_kind(obj.kind)
]) if {
	some hpa in input
	hpa.kind == "HorizontalPodAutoscaler"
}

namespace_of(obj) := object.get(obj.metadata, "namespace", "default")
