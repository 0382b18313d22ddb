package armo_builtins

import rego.v1

# The Kubernetes recommended labels (app.kubernetes.io/...) let tools and people
# tell what a workload is and who manages it; at least one should be set on the
# object and on the pods it creates.
deny contains msga if {
	obj := input[_]
	pod_spec_with_path(obj)
	fixes := [fix |
		some place in label_places(obj)
		not has_recommended_label(place.labels)
		fix := {"path": sprintf("%s[%s]", [place.path, data.postureControlInputs.k8sRecommendedLabels[0]]), "value": "YOUR_VALUE"}
	]
	count(fixes) > 0
	msga := {
		"alertMessage": sprintf("%v %v sets none of the Kubernetes recommended labels", [obj.kind, obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertScore": 1,
		"ruleStatus": "",
		"failedPaths": [],
		"fixPaths": fixes,
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

has_recommended_label(labels) if {
	some label in data.postureControlInputs.k8sRecommendedLabels
	labels[label]
}

# Where labels belong: the object itself, and the pod template of controllers.
label_places(obj) := [{"labels": object.get(obj.metadata, "labels", {}), "path": "metadata.labels"}] if obj.kind == "Pod"

label_places(obj) := [
	{"labels": object.get(obj.metadata, "labels", {}), "path": "metadata.labels"},
	{"labels": pod_labels(obj), "path": sprintf("%s.metadata.labels", [template_path(obj)])},
] if obj.kind != "Pod"

template_path(obj) := "spec.jobTemplate.spec.template" if obj.kind == "CronJob"

template_path(obj) := "spec.template" if obj.kind != "CronJob"

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}

# Labels of the pods a workload creates.
pod_labels(obj) := object.get(obj.metadata, "labels", {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(object.get(obj.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_labels(obj) := object.get(object.get(obj.spec.jobTemplate.spec.template, "metadata", {}), "labels", {}) if {
	obj.kind == "CronJob"
}
