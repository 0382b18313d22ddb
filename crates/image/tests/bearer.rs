//! The bearer-token flow and multi-platform indexes, against a small in-test registry that speaks
//! the distribution API with token authentication (docker-registry's token mode needs a signing
//! token service, so this test serves real kit blobs itself).

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use base64::Engine;
use kubescape_image::{Credentials, Error, Image, OpenOptions, RegistryOptions, Visitor};
use sha2::{Digest, Sha256};

const TOKEN: &str = "tok-7f3a";

struct Fake {
    /// the first blob request is answered 503 (a transient registry failure to retry)
    flaky: std::sync::atomic::AtomicBool,
    addr: String,
    blobs: HashMap<String, PathBuf>,
    index: Vec<u8>,
}

fn layout_manifest(layout: &Path) -> (String, u64) {
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let m = &idx["manifests"][0];
    (
        m["digest"].as_str().unwrap().to_string(),
        m["size"].as_u64().unwrap(),
    )
}

fn handle(f: &Fake, mut s: TcpStream) {
    let Some((path, auth)) = common::read_request(&s) else {
        return;
    };
    if let Some(q) = path.strip_prefix("/token?") {
        let want = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("bob:s3cret")
        );
        assert!(q.contains("scope=repository%3Akit%2Fmulti%3Apull"), "{q}");
        if auth == want {
            common::respond(
                &mut s,
                "200 OK",
                &[("Content-Type", "application/json".into())],
                format!(r#"{{"token":"{TOKEN}"}}"#).as_bytes(),
            );
        } else {
            common::respond(
                &mut s,
                "401 Unauthorized",
                &[],
                br#"{"details":"bad credentials"}"#,
            );
        }
        return;
    }
    if auth != format!("Bearer {TOKEN}") {
        let ch = format!(
            r#"Bearer realm="http://{}/token",service="fake-registry",scope="repository:kit/multi:pull""#,
            f.addr
        );
        common::respond(
            &mut s,
            "401 Unauthorized",
            &[("WWW-Authenticate", ch)],
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
        return;
    }
    if path == "/v2/kit/multi/manifests/multi" {
        common::respond(
            &mut s,
            "200 OK",
            &[(
                "Content-Type",
                "application/vnd.oci.image.index.v1+json".into(),
            )],
            &f.index,
        );
        return;
    }
    if path.contains("/blobs/") && f.flaky.swap(false, std::sync::atomic::Ordering::SeqCst) {
        common::respond(&mut s, "503 Service Unavailable", &[], b"try again");
        return;
    }
    let digest = path
        .strip_prefix("/v2/kit/multi/manifests/")
        .or_else(|| path.strip_prefix("/v2/kit/multi/blobs/"))
        .unwrap_or("");
    match f.blobs.get(digest) {
        Some(p) => common::respond(
            &mut s,
            "200 OK",
            &[(
                "Content-Type",
                "application/vnd.oci.image.manifest.v1+json".into(),
            )],
            &std::fs::read(p).unwrap(),
        ),
        None => common::respond(
            &mut s,
            "404 Not Found",
            &[],
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        ),
    }
}

/// Serves an index of the kit's `apps` image (linux/amd64) and `debian` image (labelled
/// linux/arm64) behind token authentication.
fn start() -> String {
    let kit = common::kit();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut blobs = HashMap::new();
    for l in ["apps.oci", "debian.oci"] {
        for e in std::fs::read_dir(kit.join(l).join("blobs/sha256")).unwrap() {
            let e = e.unwrap();
            blobs.insert(
                format!("sha256:{}", e.file_name().to_string_lossy()),
                e.path(),
            );
        }
    }
    let (apps, apps_size) = layout_manifest(&kit.join("apps.oci"));
    let (deb, deb_size) = layout_manifest(&kit.join("debian.oci"));
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": apps, "size": apps_size, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": deb, "size": deb_size, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": deb, "size": deb_size, "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        ],
    });
    let fake = Fake {
        flaky: std::sync::atomic::AtomicBool::new(true),
        addr: addr.clone(),
        blobs,
        index: serde_json::to_vec(&index).unwrap(),
    };
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            handle(&fake, s);
        }
    });
    addr
}

struct Count(u64);
impl Visitor for Count {
    fn visit(&mut self, _: &kubescape_image::Entry<'_>, _: &mut dyn Read) -> std::io::Result<()> {
        self.0 += 1;
        Ok(())
    }
}

fn opts(password: &str, platform: &str) -> OpenOptions {
    OpenOptions {
        registry: RegistryOptions {
            credentials: Some(Credentials {
                username: "bob".into(),
                password: password.into(),
            }),
            insecure: true,
            docker_config: None,
        },
        platform: Some(platform.parse().unwrap()),
        max_size: None,
    }
}

#[test]
fn bearer_token_flow_and_platform_choice() {
    let addr = start();
    let kit = common::kit();
    let reference = format!("{addr}/kit/multi:multi");
    let (apps, _) = layout_manifest(&kit.join("apps.oci"));
    let (deb, _) = layout_manifest(&kit.join("debian.oci"));

    let img = Image::open(&reference, &opts("s3cret", "linux/amd64")).unwrap();
    assert_eq!(img.metadata.manifest_digest.as_deref(), Some(apps.as_str()));
    assert_eq!(img.metadata.layers.len(), 6);

    let img = Image::open(&reference, &opts("s3cret", "linux/arm64")).unwrap();
    assert_eq!(img.metadata.manifest_digest.as_deref(), Some(deb.as_str()));
    let mut n = Count(0);
    let stats = img.walk(&mut n).unwrap();
    assert!(n.0 > 5000 && stats.bytes > 100 << 20, "{} entries", n.0);
    let digest = format!(
        "{:x}",
        Sha256::digest(
            std::fs::read(
                kit.join("debian.oci/blobs/sha256")
                    .join(deb.trim_start_matches("sha256:"))
            )
            .unwrap()
        )
    );
    assert_eq!(format!("sha256:{digest}"), deb);

    let e = Image::open(&reference, &opts("s3cret", "linux/s390x"))
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("available: linux/amd64, linux/arm64/v8"),
        "{e}"
    );

    let e = Image::open(&reference, &opts("wrong", "linux/amd64"))
        .err()
        .unwrap();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("token service rejected the credentials"),
        "{e}"
    );
}
