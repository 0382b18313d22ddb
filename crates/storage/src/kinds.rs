//! The kinds of `spdx.softwarecomposition.kubescape.io/v1beta1`, with upstream's resource
//! names, scopes and field names, our size limits, `kubectl get` columns and schemas.

use kubescape_apiserver::{Column, Registry, ResourceDef};
use serde_json::{json, Value};

pub const GROUP: &str = "spdx.softwarecomposition.kubescape.io";
pub const VERSION: &str = "v1beta1";

const MIB: usize = 1024 * 1024;

fn any_object(description: &str) -> Value {
    json!({"type": "object", "description": description, "x-kubernetes-preserve-unknown-fields": true})
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn int(description: &str) -> Value {
    json!({"type": "integer", "format": "int64", "description": description})
}

fn spec(description: &str, properties: Value) -> Value {
    json!({"spec": {"type": "object", "description": description, "properties": properties}})
}

fn severity_counts(relevant: bool) -> Value {
    let count = if relevant {
        json!({"type": "object", "properties": {
            "all": int("Vulnerabilities of this severity in the image."),
            "relevant": int("Of those, the ones in components that run."),
        }})
    } else {
        int("Failed controls of this severity.")
    };
    let names: &[&str] = if relevant {
        &["critical", "high", "medium", "low", "negligible", "unknown"]
    } else {
        &["critical", "high", "medium", "low", "unknown"]
    };
    let props: serde_json::Map<String, Value> = names
        .iter()
        .map(|n| (n.to_string(), count.clone()))
        .collect();
    json!({"type": "object", "description": "Counts by severity.", "properties": props})
}

fn severity_columns(prefix: &'static [&'static str; 4]) -> Vec<Column> {
    ["Critical", "High", "Medium", "Low"]
        .iter()
        .zip(prefix.iter())
        .map(|(name, path)| Column {
            name,
            kind: "integer",
            path,
            description: "Count of this severity.",
            priority: 0,
        })
        .collect()
}

const VULN_SEVERITY_PATHS: [&str; 4] = [
    "spec.severities.critical.all",
    "spec.severities.high.all",
    "spec.severities.medium.all",
    "spec.severities.low.all",
];
const CONFIG_SEVERITY_PATHS: [&str; 4] = [
    "spec.severities.critical",
    "spec.severities.high",
    "spec.severities.medium",
    "spec.severities.low",
];

fn status_columns() -> Vec<Column> {
    vec![
        Column {
            name: "Status",
            kind: "string",
            path: "metadata.annotations[kubescape.io/status]",
            description: "initializing, ready, completed, failed or too-large.",
            priority: 0,
        },
        Column {
            name: "Completion",
            kind: "string",
            path: "metadata.annotations[kubescape.io/completion]",
            description: "partial or complete.",
            priority: 1,
        },
    ]
}

fn image_column() -> Column {
    Column {
        name: "Image",
        kind: "string",
        path: "metadata.annotations[kubescape.io/image-tag]",
        description: "The image the object describes.",
        priority: 1,
    }
}

struct Kind {
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    computed: bool,
    max_mib: usize,
    short: &'static [&'static str],
    description: &'static str,
    properties: Value,
    columns: Vec<Column>,
}

fn container_list(description: &str, item: Value) -> Value {
    json!({"type": "array", "description": description, "items": item})
}

fn profile_container() -> Value {
    json!({"type": "object", "properties": {
        "name": string("Container name."),
        "capabilities": {"type": "array", "items": {"type": "string"}},
        "execs": {"type": "array", "items": {"type": "object", "properties": {
            "path": string("Executable path."),
            "args": {"type": "array", "items": {"type": "string"}}}}},
        "opens": {"type": "array", "items": {"type": "object", "properties": {
            "path": string("Opened path."),
            "flags": {"type": "array", "items": {"type": "string"}}}}},
        "syscalls": {"type": "array", "items": {"type": "string"}},
        "endpoints": {"type": "array", "items": any_object("An HTTP endpoint the container served.")},
        "imageID": string("Image digest reference."),
        "imageTag": string("Image tag reference."),
        "seccompProfile": any_object("Seccomp profile observed for the container."),
        "policyByRuleId": any_object("Runtime rule policies."),
        "identifiedCallStacks": {"type": "array", "items": any_object("A call stack.")},
        "rulePolicies": any_object("Runtime rule policies."),
    }, "x-kubernetes-preserve-unknown-fields": true})
}

fn neighbor() -> Value {
    json!({"type": "object", "properties": {
        "identifier": string("Stable identifier of the peer."),
        "type": string("internal or external."),
        "dns": string("DNS name (deprecated; see dnsNames)."),
        "dnsNames": {"type": "array", "items": {"type": "string"}},
        "ports": {"type": "array", "items": {"type": "object", "properties": {
            "name": string("Port name, e.g. TCP-80."),
            "protocol": string("TCP, UDP or SCTP."),
            "port": {"type": "integer", "format": "int32"}}}},
        "podSelector": any_object("Label selector of peer pods."),
        "namespaceSelector": any_object("Label selector of peer namespaces."),
        "ipAddress": string("Peer IP address."),
    }})
}

fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            plural: "sbomsyfts",
            kind: "SBOMSyft",
            namespaced: true,
            computed: false,
            max_mib: 100,
            short: &[],
            description: "The software bill of materials of an image, as a Syft JSON document.",
            properties: spec("SBOM of one image.", json!({
                "metadata": {"type": "object", "properties": {
                    "tool": any_object("Tool that produced the SBOM."),
                    "report": any_object("When the SBOM was produced."),
                }, "x-kubernetes-preserve-unknown-fields": true},
                "syft": any_object("The Syft JSON document: artifacts, source, distro, files."),
            })),
            columns: vec![image_column(), status_columns().remove(0)],
        },
        Kind {
            plural: "sbomsyftfiltereds",
            kind: "SBOMSyftFiltered",
            namespaced: true,
            computed: false,
            max_mib: 100,
            short: &[],
            description: "The part of an image's SBOM that the running container uses.",
            properties: spec("Filtered SBOM of one container.", json!({
                "metadata": any_object("Tool and report information."),
                "syft": any_object("The Syft JSON document restricted to files seen at runtime."),
            })),
            columns: vec![image_column(), status_columns().remove(0)],
        },
        Kind {
            plural: "vulnerabilitymanifests",
            kind: "VulnerabilityManifest",
            namespaced: true,
            computed: false,
            max_mib: 50,
            short: &[],
            description: "The vulnerabilities matched in one image (or its running part).",
            properties: spec("Vulnerability matches of one image.", json!({
                "metadata": {"type": "object", "properties": {
                    "withRelevancy": {"type": "boolean", "description": "Whether matches are filtered by runtime relevancy."},
                    "tool": {"type": "object", "properties": {
                        "name": string("Matcher name."),
                        "version": string("Matcher version."),
                        "databaseVersion": string("Vulnerability database version."),
                    }},
                    "report": any_object("When the scan ran."),
                }},
                "payload": any_object("A Grype-style match document: matches, source, distro, descriptor."),
            })),
            columns: vec![
                Column { name: "Tool", kind: "string", path: "spec.metadata.tool.name", description: "Matcher.", priority: 1 },
                image_column(),
            ],
        },
        Kind {
            plural: "vulnerabilitymanifestsummaries",
            kind: "VulnerabilityManifestSummary",
            namespaced: true,
            computed: false,
            max_mib: 5,
            short: &[],
            description: "Counts by severity of one workload container's vulnerabilities.",
            properties: spec("Severity counts and references to the full manifests.", json!({
                "severities": severity_counts(true),
                "vulnerabilitiesRef": {"type": "object", "properties": {
                    "all": {"type": "object", "properties": {"kind": string(""), "name": string(""), "namespace": string("")}},
                    "relevant": {"type": "object", "properties": {"kind": string(""), "name": string(""), "namespace": string("")}},
                }},
            })),
            columns: severity_columns(&VULN_SEVERITY_PATHS),
        },
        Kind {
            plural: "vulnerabilitysummaries",
            kind: "VulnerabilitySummary",
            namespaced: false,
            computed: true,
            max_mib: 0,
            short: &[],
            description: "Per-namespace totals of the vulnerability manifest summaries (computed; named after the namespace).",
            properties: spec("Totals of one namespace.", json!({
                "severities": severity_counts(true),
                "vulnerabilitiesRef": {"type": "array", "items": {"type": "object", "properties": {"kind": string(""), "name": string(""), "namespace": string("")}}},
            })),
            columns: severity_columns(&VULN_SEVERITY_PATHS),
        },
        Kind {
            plural: "openvulnerabilityexchangecontainers",
            kind: "OpenVulnerabilityExchangeContainer",
            namespaced: true,
            computed: false,
            max_mib: 50,
            short: &["vex"],
            description: "An OpenVEX document stating which vulnerabilities affect a container.",
            properties: spec("An OpenVEX document.", json!({
                "@context": string("OpenVEX context URL."),
                "@id": string("Document identifier."),
                "author": string("Author."),
                "role": string("Author role."),
                "timestamp": string("When the document was issued."),
                "version": {"type": "integer"},
                "tooling": string("Tool that produced it."),
                "statements": {"type": "array", "items": any_object("A VEX statement.")},
            })),
            columns: vec![],
        },
        Kind {
            plural: "workloadconfigurationscans",
            kind: "WorkloadConfigurationScan",
            namespaced: true,
            computed: false,
            max_mib: 20,
            short: &[],
            description: "The posture (misconfiguration) results of one workload.",
            properties: spec("Control results of one workload.", json!({
                "controls": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "controlID": string("Control ID, e.g. C-0017."),
                    "name": string("Control name."),
                    "severity": {"type": "object", "properties": {"severity": string(""), "scoreFactor": {"type": "number"}}},
                    "status": {"type": "object", "properties": {"status": string("passed, failed or skipped."), "subStatus": string(""), "info": string("")}},
                    "rules": {"type": "array", "items": any_object("A rule's result with paths.")},
                }}},
                "relatedObjects": {"type": "array", "items": any_object("An object the result relates to.")},
            })),
            columns: vec![],
        },
        Kind {
            plural: "workloadconfigurationscansummaries",
            kind: "WorkloadConfigurationScanSummary",
            namespaced: true,
            computed: false,
            max_mib: 5,
            short: &[],
            description: "Counts by severity of one workload's failed controls.",
            properties: spec("Severity counts and control statuses.", json!({
                "severities": severity_counts(false),
                "controls": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "controlID": string(""),
                    "status": {"type": "object", "properties": {"status": string(""), "subStatus": string(""), "info": string("")}},
                }}},
            })),
            columns: severity_columns(&CONFIG_SEVERITY_PATHS),
        },
        Kind {
            plural: "configurationscansummaries",
            kind: "ConfigurationScanSummary",
            namespaced: false,
            computed: true,
            max_mib: 0,
            short: &[],
            description: "Per-namespace totals of the workload configuration scan summaries (computed; named after the namespace).",
            properties: spec("Totals of one namespace.", json!({
                "severities": severity_counts(false),
                "summaryRef": {"type": "array", "items": {"type": "object", "properties": {"kind": string(""), "name": string(""), "namespace": string("")}}},
            })),
            columns: severity_columns(&CONFIG_SEVERITY_PATHS),
        },
        Kind {
            plural: "applicationprofiles",
            kind: "ApplicationProfile",
            namespaced: true,
            computed: false,
            max_mib: 20,
            short: &["ap"],
            description: "What each container of a workload was seen doing: executables, files, syscalls, capabilities, endpoints.",
            properties: spec("Per-container behaviour.", json!({
                "architectures": {"type": "array", "items": {"type": "string"}},
                "containers": container_list("Containers.", profile_container()),
                "initContainers": container_list("Init containers.", profile_container()),
                "ephemeralContainers": container_list("Ephemeral containers.", profile_container()),
            })),
            columns: status_columns(),
        },
        Kind {
            plural: "containerprofiles",
            kind: "ContainerProfile",
            namespaced: true,
            computed: false,
            max_mib: 20,
            short: &[],
            description: "One container's observed behaviour and network peers.",
            properties: json!({"spec": any_object("The container's profile: execs, opens, syscalls, capabilities, endpoints, ingress, egress.")}),
            columns: status_columns(),
        },
        Kind {
            plural: "networkneighborhoods",
            kind: "NetworkNeighborhood",
            namespaced: true,
            computed: false,
            max_mib: 20,
            short: &["nn"],
            description: "The network peers each container of a workload was seen talking to.",
            properties: spec("Observed ingress and egress per container.", json!({
                "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                "matchExpressions": {"type": "array", "items": any_object("A label selector requirement.")},
                "containers": container_list("Containers.", json!({"type": "object", "properties": {
                    "name": string("Container name."),
                    "ingress": {"type": "array", "items": neighbor()},
                    "egress": {"type": "array", "items": neighbor()},
                }})),
                "initContainers": {"type": "array", "items": any_object("Init container peers.")},
                "ephemeralContainers": {"type": "array", "items": any_object("Ephemeral container peers.")},
            })),
            columns: status_columns(),
        },
        Kind {
            plural: "generatednetworkpolicies",
            kind: "GeneratedNetworkPolicy",
            namespaced: true,
            computed: true,
            max_mib: 0,
            short: &[],
            description: "A NetworkPolicy allowing exactly the traffic of a network neighborhood (computed).",
            properties: json!({
                "spec": any_object("A networking.k8s.io/v1 NetworkPolicy."),
                "policyRef": {"type": "array", "items": {"type": "object", "properties": {
                    "ipBlock": string("CIDR the policy allows."),
                    "originalIP": string("Address that was observed."),
                    "dns": string("DNS name of the address."),
                    "name": string("Known server name."),
                    "server": string("Known server."),
                }}},
            }),
            columns: vec![],
        },
        Kind {
            plural: "seccompprofiles",
            kind: "SeccompProfile",
            namespaced: true,
            computed: false,
            max_mib: 20,
            short: &[],
            description: "Seccomp profiles of a workload's containers.",
            properties: json!({
                "spec": any_object("Per-container seccomp profiles."),
                "status": any_object("Where the profiles were written."),
            }),
            columns: vec![],
        },
        Kind {
            plural: "knownservers",
            kind: "KnownServer",
            namespaced: false,
            computed: false,
            max_mib: 5,
            short: &[],
            description: "Well-known servers (address blocks with names) used to generalise generated network policies.",
            properties: json!({"spec": {"type": "array", "items": {"type": "object", "properties": {
                "ipBlock": string("CIDR of the server."),
                "name": string("Name of the server."),
                "server": string("DNS name of the server."),
            }}}}),
            columns: vec![],
        },
        Kind {
            plural: "collapseconfigurations",
            kind: "CollapseConfiguration",
            namespaced: false,
            computed: false,
            max_mib: 1,
            short: &[],
            description: "Thresholds for collapsing many observed paths into wildcard entries in profiles.",
            properties: spec("Collapse thresholds.", json!({
                "openDynamicThreshold": int("Paths under one directory beyond which opens collapse."),
                "endpointDynamicThreshold": int("Endpoints beyond which they collapse."),
                "collapseConfigs": {"type": "array", "items": any_object("A prefix and its threshold.")},
            })),
            columns: vec![],
        },
    ]
}

pub fn registry() -> Registry {
    let resources = kinds()
        .into_iter()
        .map(|k| ResourceDef {
            group: GROUP,
            version: VERSION,
            plural: k.plural,
            singular: Box::leak(k.kind.to_ascii_lowercase().into_boxed_str()),
            kind: k.kind,
            list_kind: format!("{}List", k.kind),
            short_names: k.short,
            namespaced: k.namespaced,
            computed: k.computed,
            max_object_bytes: k.max_mib * MIB,
            description: k.description,
            properties: k.properties,
            columns: k.columns,
        })
        .collect();
    Registry {
        group: GROUP,
        version: VERSION,
        resources,
    }
}
