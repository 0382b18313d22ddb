package armo_builtins

import rego.v1

# Only the kube-apiserver static pods are relevant: other pods would otherwise be counted as
# resources that passed this control-plane check.
deny contains msga if {
	some obj in input
	obj.kind == "Pod"
	some container in obj.spec.containers
	runs_binary(obj, container, "kube-apiserver")
	msga := {
		"alertMessage": sprintf("%s runs kube-apiserver", [obj.metadata.name]),
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [obj]},
	}
}

runs_binary(_, container, binary) if container.command[0] == binary

runs_binary(_, container, binary) if endswith(container.command[0], sprintf("/%s", [binary]))

# Images whose entrypoint is the binary itself carry only args; fall back to the
# component label kubeadm and most distributions put on static pods.
runs_binary(obj, container, binary) if {
	count(object.get(container, "command", [])) == 0
	obj.metadata.labels.component == binary
}
