package armo_builtins

import rego.v1

# Resources should carry at least one of the recommended labels (app, tier, ...), on the
# workload itself and on its pod template, so they can be selected and attributed.
deny contains msga if {
	some wl in input
	locations := label_locations(wl)
	wanted := object.get(data.postureControlInputs, "recommendedLabels", [])
	fixes := [{"path": sprintf("%s[%s]", [path, suggested_label(wanted)]), "value": "YOUR_VALUE"} |
		some loc in locations
		not has_recommended_label(loc.labels, wanted)
		path := loc.path
	]
	count(fixes) > 0
	msga := {
		"alertMessage": sprintf("%s %s has none of the recommended labels", [wl.kind, wl.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 2,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": fixes,
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

has_recommended_label(labels, wanted) if {
	some key, _ in labels
	key in wanted
}

suggested_label(wanted) := wanted[0] if count(wanted) > 0

else := "YOUR_LABEL"

labels_of(obj) := object.get(object.get(obj, "metadata", {}), "labels", {})

label_locations(obj) := [{"path": "metadata.labels", "labels": labels_of(obj)}] if obj.kind == "Pod"

label_locations(obj) := [
	{"path": "metadata.labels", "labels": labels_of(obj)},
	{"path": "spec.template.metadata.labels", "labels": labels_of(obj.spec.template)},
] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

label_locations(obj) := [
	{"path": "metadata.labels", "labels": labels_of(obj)},
	{"path": "spec.jobTemplate.spec.template.metadata.labels", "labels": labels_of(obj.spec.jobTemplate.spec.template)},
] if {
	obj.kind == "CronJob"
}
