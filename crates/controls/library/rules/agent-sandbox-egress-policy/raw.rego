package armo_builtins

import rego.v1

# Agent sandbox templates must restrict where sandboxed agents can connect: the network
# policy must be managed by the sandbox controller and its egress rules must name
# concrete destinations (no rule that opens traffic to everything).
deny contains msga if {
	template := input[_]
	template.kind == "SandboxTemplate"
	path := egress_problem(template.spec)

	msga := {
		"alertMessage": sprintf("SandboxTemplate %s does not restrict egress traffic (%s)", [template.metadata.name, path]),
		"alertScore": 7,
		"failedPaths": [path],
		"fixPaths": [],
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"k8sApiObjects": [template]},
	}
}

# The first problem found, most fundamental first.
egress_problem(spec) := "spec.networkPolicyManagement" if {
	object.get(spec, "networkPolicyManagement", "Managed") != "Managed"
} else := "spec.networkPolicy" if {
	not is_object(spec.networkPolicy)
} else := "spec.networkPolicy.egress" if {
	"egress" in object.keys(spec.networkPolicy)
	not is_array(spec.networkPolicy.egress)
} else := "spec.networkPolicy.egress" if {
	some rule in spec.networkPolicy.egress
	opens_everything(rule)
}

# A rule without destinations allows every destination.
opens_everything(rule) if not rule.to

opens_everything(rule) if count(rule.to) == 0

opens_everything(rule) if {
	some peer in rule.to
	universal_peer(peer)
}

universal_peer(peer) if count(peer) == 0

universal_peer(peer) if {
	peer.ipBlock.cidr in {"0.0.0.0/0", "::/0"}
}

# A peer made only of empty selectors matches every pod (in the namespace, or everywhere).
universal_peer(peer) if {
	not peer.ipBlock
	count(peer) > 0
	every key, selector in peer {
		key in {"podSelector", "namespaceSelector"}
		empty_selector(selector)
	}
}

empty_selector(selector) if {
	count(object.get(selector, "matchLabels", {})) == 0
	count(object.get(selector, "matchExpressions", [])) == 0
}
