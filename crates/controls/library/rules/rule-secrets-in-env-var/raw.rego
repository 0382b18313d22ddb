package armo_builtins

import rego.v1

# Secrets exposed as environment variables leak easily (logs, crash dumps,
# child processes); mounting them as files is safer.
deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in app_and_init_containers(pod)
	some k, env in entry.container.env
	env.valueFrom.secretKeyRef
	path := sprintf("%s.env[%d].name", [entry.path, k])
	msga := secret_env_alert(obj, path, sprintf("environment variable %v of container %v", [env.name, entry.container.name]))
}

deny contains msga if {
	obj := input[_]
	pod := pod_spec_with_path(obj)
	some entry in app_and_init_containers(pod)
	some k, source in entry.container.envFrom
	source.secretRef
	path := sprintf("%s.envFrom[%d].secretRef", [entry.path, k])
	msga := secret_env_alert(obj, path, sprintf("envFrom of container %v", [entry.container.name]))
}

secret_env_alert(obj, path, where) := {
	"alertMessage": sprintf("%v %v reads a Secret into the environment (%v)", [obj.kind, obj.metadata.name, where]),
	"packagename": "armo_builtins",
	"alertScore": 9,
	"ruleStatus": "",
	"deletePaths": [path],
	"failedPaths": [path],
	"fixPaths": [],
	"alertObject": {"k8sApiObjects": [obj]},
}

# The pod template of a workload, and the path leading to it.
pod_spec_with_path(obj) := {"spec": obj.spec, "path": "spec"} if obj.kind == "Pod"

pod_spec_with_path(obj) := {"spec": obj.spec.template.spec, "path": "spec.template.spec"} if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "ReplicationController"}
}

pod_spec_with_path(obj) := {"spec": obj.spec.jobTemplate.spec.template.spec, "path": "spec.jobTemplate.spec.template.spec"} if {
	obj.kind == "CronJob"
}

# Regular and init containers of the pod template, with their paths.
app_and_init_containers(pod) := [entry |
	some field in ["containers", "initContainers"]
	some i, container in object.get(pod.spec, field, [])
	entry := {"container": container, "path": sprintf("%s.%s[%d]", [pod.path, field, i])}
]
