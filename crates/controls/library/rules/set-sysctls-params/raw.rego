package armo_builtins

import rego.v1

# Only the sysctls Kubernetes classes as "safe" are isolated per pod; any other sysctl set
# in the pod's securityContext can affect the node or other pods on it.
deny contains msga if {
	some wl in input
	[spec, prefix] := pod_spec(wl)
	unsafe := [s.name | some s in spec.securityContext.sysctls; not s.name in safe_sysctls.names]
	count(unsafe) > 0
	path := sprintf("%ssecurityContext.sysctls", [prefix])
	msga := {
		"alertMessage": sprintf("%s %s sets unsafe sysctls: %s", [wl.kind, wl.metadata.name, concat(", ", unsafe)]),
		"packagename": "armo_builtins",
		"alertScore": 7,
		"failedPaths": [path],
		"fixPaths": [{"path": path, "value": "REMOVE_UNSAFE_SYSCTLS"}],
		"alertObject": {"k8sApiObjects": [wl]},
	}
}

# The kubelet's default safe set (Kubernetes 1.32). Kept in an object: top-level sets in
# this package would be read as alerts.
safe_sysctls := {"names": {
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
}}

pod_spec(obj) := [obj.spec, "spec."] if obj.kind == "Pod"

pod_spec(obj) := [obj.spec.template.spec, "spec.template.spec."] if {
	obj.kind in {"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
}

pod_spec(obj) := [obj.spec.jobTemplate.spec.template.spec, "spec.jobTemplate.spec.template.spec."] if {
	obj.kind == "CronJob"
}
