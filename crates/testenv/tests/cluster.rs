//! End-to-end check of the test environment against the real kube-apiserver.

use kubescape_testenv::TestCluster;

#[test]
fn namespace_configmap_and_rbac() {
    let cluster = TestCluster::get();
    assert!(
        cluster.server().starts_with("https://127.0.0.1:"),
        "{}",
        cluster.server()
    );

    let ns = cluster.unique_namespace("Testenv_Smoke");
    assert!(ns.starts_with("testenv-smoke-"), "{ns}");
    let applied = cluster.apply_yaml(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\n  namespace: {ns}\ndata:\n  greeting: hello\n"
    ));
    assert!(applied.contains("configmap/probe created"), "{applied}");

    let value = cluster.kubectl_ok(&[
        "get",
        "configmap",
        "probe",
        "-n",
        &ns,
        "-o",
        "jsonpath={.data.greeting}",
    ]);
    assert_eq!(value, "hello");
    let json = cluster.get_json(&["configmap", "probe", "-n", &ns]);
    assert_eq!(json["metadata"]["namespace"], ns.as_str());

    // The admin may list secrets everywhere; the unprivileged user may not.
    assert!(cluster.kubectl(&["get", "secrets", "-A"]).status.success());
    let denied = cluster.kubectl_limited(&["get", "secrets", "-A"]);
    assert!(!denied.status.success(), "limited user listed secrets");
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(
        stderr.contains("Forbidden") && stderr.contains("\"limited\""),
        "{stderr}"
    );

    // Served API versions are discovered, not assumed (CronJob is batch/v1beta1 on 1.20).
    let versions = cluster.api_versions();
    assert!(
        versions.iter().any(|v| v == "batch/v1beta1"),
        "{versions:?}"
    );

    for f in [
        "pki/ca.crt",
        "pki/front-proxy-ca.crt",
        "pki/front-proxy-client.crt",
        "pki/front-proxy-client.key",
        "env",
    ] {
        assert!(cluster.env_dir().join(f).is_file(), "{f} missing");
    }
}
