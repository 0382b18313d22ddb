# Helper functions that control-library rules may import as `data.cautils`.
# Provided by the engine so that upstream-style rules resolve their imports.
package cautils

import rego.v1

list_contains(list, element) if {
	some item in list
	item == element
}

getPodName(metadata) := metadata.name

# Entries of `sub` whose value equals the value under the same key in `parent`.
object_intersection(parent, sub) := {k: v |
	some k, v in sub
	parent[k] == v
}

# True when every entry of `sub` is present, with an equal value, in `parent`.
is_subobject(sub, parent) if {
	count(object_intersection(parent, sub)) == count(sub)
}

bit_set(n, bit) := bits.and(n, bit) == bit

permission_triplet(n, shift) := {
	"read": bit_set(n, bits.lsh(4, shift)),
	"write": bit_set(n, bits.lsh(2, shift)),
	"exec": bit_set(n, bits.lsh(1, shift)),
}

# Decodes an integer Unix mode into its permission bits.
unix_permission(perm) := {
	"user": permission_triplet(perm, 6),
	"group": permission_triplet(perm, 3),
	"everyone": permission_triplet(perm, 0),
	"setuid": bit_set(perm, 2048),
	"setgid": bit_set(perm, 1024),
	"sticky": bit_set(perm, 512),
}

# True when every bit set in `actual` is also set in `allow`.
unix_permissions_allow(allow, actual) if {
	bits.and(actual, bits.negate(allow)) == 0
}

is_strict_conf_permission(p) if {
	decoded := unix_permission(p)
	not decoded.user.exec
	not decoded.group.write
	not decoded.group.exec
	not decoded.everyone.write
	not decoded.everyone.exec
	not decoded.setuid
	not decoded.setgid
	not decoded.sticky
}

is_not_strict_conf_permission(p) if not is_strict_conf_permission(p)

is_strict_conf_ownership(o) if o.err

is_strict_conf_ownership(o) if {
	o.uid == 0
	o.gid == 0
}

is_not_strict_conf_ownership(o) if not is_strict_conf_ownership(o)
