package armo_builtins

import rego.v1

# Every container should request and limit memory so the scheduler can place it and it cannot
# starve its neighbours. A missing value gets a fix suggestion; a value outside the
# configured memory_{request,limit}_{min,max} bounds is reported for review.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	some field in ["limits", "requests"]
	not container.resources[field].memory
	path := sprintf("%s%s[%d].resources.%s.memory", [prefix, kind, c, field])
	msga := object.union({}, {
		"alertMessage": sprintf("%s %s: container %s has no memory %s", [wl.kind, wl.metadata.name, container.name, field]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": [{"path": path, "value": "YOUR_VALUE"}],
		"alertObject": {"k8sApiObjects": [wl]},
	})
}

deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	some kind in ["containers", "initContainers"]
	some c, container in spec[kind]
	some field in ["limits", "requests"]
	value := container.resources[field].memory
	out_of_range[field][value]
	path := sprintf("%s%s[%d].resources.%s.memory", [prefix, kind, c, field])
	msga := {
		"alertMessage": sprintf("%s %s: container %s memory %s %v is outside the allowed range", [wl.kind, wl.metadata.name, container.name, field, value]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"ruleStatus": "",
		"reviewPaths": [path],
		"failedPaths": [path],
		"fixPaths": [],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

# The quantities of the input outside the configured bounds, per field:
# {"limits" | "requests": {quantity as written: true}}. Parsing a quantity takes a regex and
# every function call costs, while the input holds few distinct quantities, so each one is
# checked once per evaluation (package-level rules are cached) and containers look it up.
# (The set of quantities is built inline: a package-level set would be read as alerts.)
out_of_range := {field: values |
	quantities := {q |
		some wl in input
		[spec, _] := pod_spec(wl)
		some kind in ["containers", "initContainers"]
		some container in spec[kind]
		some f in ["limits", "requests"]
		q := container.resources[f].memory
	}
	some field in ["limits", "requests"]
	values := {q: true |
		some q in quantities
		out_of_bounds(quantity(q), trim_suffix(field, "s"))
	}
}

# Bounds come as one-element lists of quantities; an empty list means "no bound".
out_of_bounds(amount, kind) if {
	bound := data.postureControlInputs[sprintf("memory_%s_max", [kind])][0]
	amount > quantity(bound)
}

out_of_bounds(amount, kind) if {
	bound := data.postureControlInputs[sprintf("memory_%s_min", [kind])][0]
	amount < quantity(bound)
}

# Kubernetes resource quantity ("250m", "64Mi", "1.5", "2G") as a plain number.
quantity(q) := q if is_number(q)

quantity(q) := amount if {
	is_string(q)
	parts := regex.find_all_string_submatch_n(`^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)$`, q, 1)[0]
	amount := to_number(parts[1]) * quantity_suffixes.factor[parts[2]]
}

quantity_suffixes := {"factor": {
	"": 1, "m": 0.001,
	"k": 1000, "M": 1000000, "G": 1000000000, "T": 1000000000000,
	"P": 1000000000000000, "E": 1000000000000000000,
	"Ki": 1024, "Mi": 1048576, "Gi": 1073741824, "Ti": 1099511627776,
	"Pi": 1125899906842624, "Ei": 1152921504606846976,
}}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
