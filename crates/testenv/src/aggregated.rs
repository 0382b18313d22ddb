//! Storage behind kube-apiserver as an APIService, the way a cluster runs it.
//!
//! kube-apiserver refuses loopback endpoints, so the server listens on the root-namespace end of
//! a veth pair ([`Veth`]; its peer sits in a network namespace), which needs root and iproute2.

use crate::storage::StorageServer;
use crate::TestCluster;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

pub const APISERVICE: &str = "v1beta1.spdx.softwarecomposition.kubescape.io";

/// A veth pair with its peer in a network namespace; both removed on drop.
pub struct Veth {
    netns: String,
    veth: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl Veth {
    /// Creates the pair; `tag` keeps concurrent users apart. Returns the host-side address.
    pub fn create(tag: u32) -> Result<(Veth, Ipv4Addr), String> {
        let netns = format!("ks-storage-{tag}");
        let veth = format!("ksst{tag}");
        let peer = format!("ksst{tag}p");
        let octet = (tag % 60) as u8 * 4;
        let host = Ipv4Addr::new(10, 203, 1, octet + 1);
        let net = Veth {
            netns: netns.clone(),
            veth: veth.clone(),
        };
        ip(&["netns", "add", &netns])?;
        ip(&["link", "add", &veth, "type", "veth", "peer", "name", &peer])?;
        ip(&["link", "set", &peer, "netns", &netns])?;
        ip(&["addr", "add", &format!("{host}/30"), "dev", &veth])?;
        ip(&["link", "set", &veth, "up"])?;
        ip(&[
            "netns",
            "exec",
            &netns,
            "ip",
            "addr",
            "add",
            &format!("10.203.1.{}/30", octet + 2),
            "dev",
            &peer,
        ])?;
        ip(&["netns", "exec", &netns, "ip", "link", "set", &peer, "up"])?;
        Ok((net, host))
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.veth]);
        let _ = ip(&["netns", "del", &self.netns]);
    }
}

/// The APIService and the namespace it points into; both deleted on drop.
pub struct Registration<'a> {
    cluster: &'a TestCluster,
    namespace: String,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let _ = self
            .cluster
            .kubectl(&["delete", "apiservice", APISERVICE, "--ignore-not-found"]);
        let _ = self
            .cluster
            .kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]);
    }
}

/// Registers `server` (listening on a veth address) as the APIService of the storage group,
/// through a Service + Endpoints in `namespace`, and waits until kube-apiserver reports it
/// Available. Panics with the server's log otherwise.
pub fn register<'a>(
    cluster: &'a TestCluster,
    server: &StorageServer,
    namespace: &str,
) -> Registration<'a> {
    let registration = Registration {
        cluster,
        namespace: namespace.to_string(),
    };
    let ca_bundle = {
        use std::io::Write;
        let pem = std::fs::read(&server.pki.ca).expect("storage CA");
        let mut child = Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("base64");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&pem)
            .expect("write");
        String::from_utf8(child.wait_with_output().expect("base64").stdout).expect("utf-8")
    };
    let (ns, host, port) = (namespace, server.ip, server.port);
    cluster.apply_yaml(&format!(
        "apiVersion: v1
kind: Service
metadata: {{name: storage, namespace: {ns}}}
spec:
  ports: [{{name: https, port: 443, targetPort: {port}, protocol: TCP}}]
---
apiVersion: v1
kind: Endpoints
metadata: {{name: storage, namespace: {ns}}}
subsets:
- addresses: [{{ip: {host}}}]
  ports: [{{name: https, port: {port}, protocol: TCP}}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {{name: {APISERVICE}}}
spec:
  group: spdx.softwarecomposition.kubescape.io
  version: v1beta1
  groupPriorityMinimum: 1000
  versionPriority: 15
  caBundle: {ca_bundle}
  service: {{name: storage, namespace: {ns}, port: 443}}
"
    ));
    let out = cluster.kubectl(&[
        "wait",
        "--for=condition=Available",
        &format!("apiservice/{APISERVICE}"),
        "--timeout=60s",
    ]);
    assert!(
        out.status.success(),
        "APIService not available: {} (server log: {})",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    // Discovery through the aggregator lags the Available condition a little.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = cluster.kubectl(&[
            "api-resources",
            "--api-group=spdx.softwarecomposition.kubescape.io",
            "-o",
            "name",
        ]);
        if String::from_utf8_lossy(&out.stdout).contains("vulnerabilitymanifests") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "storage kinds not discovered through kube-apiserver"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    registration
}
