//! Image sources against real images (scripts/image-kit.sh) and a real registry.

mod common;

use std::io::Read;

use kubescape_image::{Credentials, Entry, Error, Image, OpenOptions, RegistryOptions, Visitor};

/// Records visible paths and reads /etc/os-release.
#[derive(Default)]
struct Paths {
    paths: Vec<(String, Option<usize>)>,
    os_release: String,
}

impl Visitor for Paths {
    fn visit(&mut self, e: &Entry<'_>, content: &mut dyn Read) -> std::io::Result<()> {
        if e.path == "/usr/lib/os-release" {
            content.read_to_string(&mut self.os_release)?;
        }
        self.paths.push((e.path.to_string(), e.layer));
        Ok(())
    }
}

fn walk(input: &str, opts: &OpenOptions) -> Result<(Image, Paths), Error> {
    let img = Image::open(input, opts)?;
    let mut v = Paths::default();
    img.walk(&mut v)?;
    Ok((img, v))
}

fn has(v: &Paths, p: &str) -> bool {
    v.paths.iter().any(|(x, _)| x == p)
}

#[test]
fn archive_and_layout_sources_squash_identically() {
    let kit = common::kit();
    let opts = OpenOptions::default();
    let mut sets = Vec::new();
    for f in ["apps.tar", "apps.oci", "apps.oci.tar", "apps-zstd.oci.tar"] {
        let (img, v) = walk(kit.join(f).to_str().unwrap(), &opts).unwrap();
        assert_eq!(img.metadata.layers.len(), 6, "{f}");
        assert!(v.os_release.contains("ID=debian"), "{f}");
        // whiteouts: six is deleted by the top layer, /etc/motd too
        let site = "/usr/local/lib/python3.11/site-packages";
        assert!(
            has(&v, &format!("{site}/requests-2.31.0.dist-info/METADATA")),
            "{f}"
        );
        assert!(
            !has(&v, &format!("{site}/six-1.16.0.dist-info/METADATA")),
            "{f}"
        );
        assert!(!has(&v, &format!("{site}/six.py")), "{f}");
        assert!(!has(&v, "/etc/motd"), "{f}");
        // opaque directory: the lower layer's /app/node_modules/ms content is hidden, the
        // directory itself (from the top layer) stays
        assert!(has(&v, "/app/node_modules/ms"), "{f}");
        assert!(!has(&v, "/app/node_modules/ms/package.json"), "{f}");
        assert!(
            has(&v, "/app/node_modules/send/node_modules/ms/package.json"),
            "{f}"
        );
        // each path once, and from the right layer
        let mut sorted: Vec<&String> = v.paths.iter().map(|(p, _)| p).collect();
        sorted.sort();
        let n = sorted.len();
        sorted.dedup();
        assert_eq!(n, sorted.len(), "{f}: duplicate paths");
        let layer_of = |p: &str| v.paths.iter().find(|(x, _)| x == p).unwrap().1;
        assert_eq!(layer_of("/usr/local/bin/hello"), Some(3), "{f}");
        assert_eq!(layer_of("/etc/os-release"), Some(0), "{f}");
        let mut paths: Vec<String> = v.paths.into_iter().map(|(p, _)| p).collect();
        paths.sort();
        sets.push(paths);
    }
    for s in &sets[1..] {
        assert_eq!(s, &sets[0]);
    }
}

#[test]
fn dir_source_walks_a_root_filesystem() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("usr/lib")).unwrap();
    std::fs::write(d.path().join("usr/lib/os-release"), "ID=test\n").unwrap();
    std::os::unix::fs::symlink("../usr/lib/os-release", d.path().join("etc-link")).unwrap();
    let (_, v) = walk(
        &format!("dir:{}", d.path().display()),
        &OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(v.os_release, "ID=test\n");
    assert!(has(&v, "/usr/lib") && has(&v, "/etc-link"));
}

#[test]
fn clear_errors_for_bad_inputs() {
    let kit = common::kit();
    let d = tempfile::tempdir().unwrap();
    // a file that is not an image
    let txt = d.path().join("notes.txt");
    std::fs::write(&txt, "hello, this is not a tar archive at all\n".repeat(40)).unwrap();
    let e = Image::open(txt.to_str().unwrap(), &OpenOptions::default())
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("not a container image archive"),
        "{e}"
    );
    // a tar that is not an image
    let tar = d.path().join("x.tar");
    let st = std::process::Command::new("tar")
        .args([
            "-cf",
            tar.to_str().unwrap(),
            "-C",
            d.path().to_str().unwrap(),
            "notes.txt",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let e = Image::open(tar.to_str().unwrap(), &OpenOptions::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("neither manifest.json"), "{e}");
    // nothing there and not a reference
    let e = Image::open("/no/such/Path", &OpenOptions::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("neither an existing file"), "{e}");
    // size limit
    let opts = OpenOptions {
        max_size: Some(1 << 20),
        ..Default::default()
    };
    let e = Image::open(kit.join("apps.oci").to_str().unwrap(), &opts)
        .err()
        .unwrap();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("--max-image-size"), "{e}");
    // platform not in the index
    let opts = OpenOptions {
        platform: Some("linux/arm64".parse().unwrap()),
        ..Default::default()
    };
    let e = Image::open(kit.join("apps.oci").to_str().unwrap(), &opts)
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("no image for platform linux/arm64 (available: linux/amd64)"),
        "{e}"
    );
    // OCI layouts: an image picked by its ref name, and a name that is not there
    let dir = kit.join("apps.oci");
    Image::open(
        &format!("oci-dir:{}:v1", dir.display()),
        &OpenOptions::default(),
    )
    .unwrap();
    let e = Image::open(
        &format!("oci-dir:{}:v9", dir.display()),
        &OpenOptions::default(),
    )
    .err()
    .unwrap();
    assert!(
        e.to_string()
            .contains("no image named \"v9\" in index.json (names: v1)"),
        "{e}"
    );
    let tar = kit.join("apps.oci.tar");
    Image::open(
        &format!("oci-archive:{}:v1", tar.display()),
        &OpenOptions::default(),
    )
    .unwrap();
    // a corrupted layer in an OCI layout: digest verification fails with a clear error
    let copy = d.path().join("copy.oci");
    let st = std::process::Command::new("cp")
        .args([
            "-r",
            kit.join("apps.oci").to_str().unwrap(),
            copy.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let img = Image::open(copy.to_str().unwrap(), &OpenOptions::default()).unwrap();
    let go_layer = &img.metadata.layers[3].digest;
    let blob = copy
        .join("blobs/sha256")
        .join(go_layer.trim_start_matches("sha256:"));
    let data = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &data[..data.len() / 2]).unwrap();
    let e = img.walk(&mut Paths::default()).err().unwrap();
    let msg = e.to_string();
    assert!(msg.contains(go_layer) && msg.contains("layer 4"), "{msg}");
    eprintln!("corrupted layer: {msg}");
}

#[test]
fn registry_pull_with_credentials_and_errors() {
    let kit = common::kit();
    let reg = common::Registry::start(Some(("kit-user", "kit-pass")));
    reg.push(&kit.join("apps.oci"), "kit/apps:v1");
    let creds = |p: &str| RegistryOptions {
        credentials: Some(Credentials {
            username: "kit-user".into(),
            password: p.into(),
        }),
        insecure: true,
        docker_config: Some("/nonexistent/config.json".into()),
    };
    let reference = format!("{}/kit/apps:v1", reg.addr);
    let opts = OpenOptions {
        registry: creds("kit-pass"),
        ..Default::default()
    };
    let (img, v) = walk(&reference, &opts).unwrap();
    assert_eq!(img.metadata.source_kind, "registry");
    let (local, lv) = walk(
        kit.join("apps.oci").to_str().unwrap(),
        &OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(img.metadata.manifest_digest, local.metadata.manifest_digest);
    assert_eq!(
        img.metadata.repo_digests,
        vec![format!(
            "{}/kit/apps@{}",
            reg.addr,
            local.metadata.manifest_digest.clone().unwrap()
        )]
    );
    assert_eq!(v.paths.len(), lv.paths.len());

    // credentials from a Docker config.json
    let d = tempfile::tempdir().unwrap();
    let cfg = reg.docker_config(d.path());
    let opts = OpenOptions {
        registry: RegistryOptions {
            credentials: None,
            insecure: true,
            docker_config: Some(cfg),
        },
        ..Default::default()
    };
    Image::open(&reference, &opts).unwrap();

    // by digest
    let by_digest = format!(
        "{}/kit/apps@{}",
        reg.addr,
        local.metadata.manifest_digest.clone().unwrap()
    );
    Image::open(
        &by_digest,
        &OpenOptions {
            registry: creds("kit-pass"),
            ..Default::default()
        },
    )
    .unwrap();

    // wrong password
    let e = Image::open(
        &reference,
        &OpenOptions {
            registry: creds("wrong"),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e}");
    assert!(e.to_string().contains("wrong username or password"), "{e}");
    // no credentials at all
    let anon = OpenOptions {
        registry: RegistryOptions {
            insecure: true,
            docker_config: Some("/nonexistent".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = Image::open(&reference, &anon).err().unwrap();
    assert!(e.to_string().contains("requires credentials"), "{e}");
    // missing tag
    let e = Image::open(&format!("{}/kit/apps:nope", reg.addr), &opts_ok(&creds))
        .err()
        .unwrap();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("MANIFEST_UNKNOWN"), "{e}");
    // TLS against a plain-HTTP registry: the hint names --insecure
    let tls = OpenOptions {
        registry: RegistryOptions {
            insecure: false,
            ..creds("kit-pass")
        },
        ..Default::default()
    };
    let e = Image::open(&reference, &tls).err().unwrap();
    assert!(e.to_string().contains("--insecure"), "{e}");

    // truncated blob in the registry's storage
    let layer = img.metadata.layers[1].digest.clone();
    let f = reg.blob_file(&layer);
    let data = std::fs::read(&f).unwrap();
    std::fs::write(&f, &data[..data.len() / 3]).unwrap();
    let img = Image::open(&reference, &opts_ok(&creds)).unwrap();
    let e = img.walk(&mut Paths::default()).err().unwrap();
    assert!(e.to_string().contains(&layer), "{e}");
    eprintln!("truncated blob: {e}");
}

fn opts_ok(creds: &dyn Fn(&str) -> RegistryOptions) -> OpenOptions {
    OpenOptions {
        registry: creds("kit-pass"),
        ..Default::default()
    }
}

#[test]
fn registry_with_a_self_signed_certificate() {
    let kit = common::kit();
    let reg = common::Registry::start_tls();
    reg.push(&kit.join("debian.oci"), "kit/debian:12");
    let reference = format!("{}/kit/debian:12", reg.addr);
    let opts = |insecure| OpenOptions {
        registry: RegistryOptions {
            credentials: None,
            insecure,
            docker_config: Some("/nonexistent".into()),
        },
        ..Default::default()
    };
    let e = Image::open(&reference, &opts(false)).err().unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains("https://") && msg.contains("--insecure"),
        "{msg}"
    );
    eprintln!("self-signed without --insecure: {msg}");
    let img = Image::open(&reference, &opts(true)).unwrap();
    let mut v = Paths::default();
    img.walk(&mut v).unwrap();
    assert!(v.os_release.contains("ID=debian"));
}
