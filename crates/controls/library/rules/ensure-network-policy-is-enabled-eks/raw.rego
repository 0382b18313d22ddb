package armo_builtins

import rego.v1

# Fails a node whose detected CNI plugins include none that enforces NetworkPolicy.
deny contains msga if {
	some obj in input
	obj.kind == "CNIInfo"
	not enforces_network_policies(obj)
	msga := {
		"alertMessage": sprintf("None of the CNI plugins found on node %s (%v) enforces NetworkPolicy objects", [object.get(obj, ["metadata", "name"], ""), object.get(obj, ["data", "CNINames"], [])]),
		"alertScore": 2,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

enforces_network_policies(obj) if {
	some name in as_array(obj.data.CNINames)
	policy_capable_cni(lower(name))
}

# Plugins known to implement the NetworkPolicy API.
policy_capable_cni(name) if name in {"calico", "cilium", "weave", "weave-net", "antrea", "kube-router", "romana", "canal"}

# Lists the sensor or cloud API could not fill arrive as null.
as_array(x) := x if is_array(x)

as_array(x) := [] if not is_array(x)
