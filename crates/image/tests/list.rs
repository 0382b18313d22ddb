//! Registry listings (catalog and tags) against a real docker-registry, and against a small
//! in-test registry for what docker-registry 2.8 does not do: bearer tokens with the catalog
//! scope, paged tag lists, absolute next-page links, and no catalog at all.

mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine;
use kubescape_image::{
    list_repositories, list_tags, Credentials, Error, ListOptions, RegistryOptions,
};

fn creds(user: &str, password: &str) -> RegistryOptions {
    RegistryOptions {
        credentials: Some(Credentials {
            username: user.into(),
            password: password.into(),
        }),
        insecure: true,
        docker_config: Some("/nonexistent/config.json".into()),
    }
}

fn anonymous() -> RegistryOptions {
    RegistryOptions {
        credentials: None,
        insecure: true,
        docker_config: Some("/nonexistent/config.json".into()),
    }
}

fn paged(limit: usize, page_size: usize) -> ListOptions {
    ListOptions { limit, page_size }
}

const REPOS: [&str; 5] = ["kit/a", "kit/b", "kit/c", "other/d", "other/e"];

/// A registry holding the kit's `apps` image under every repository of [`REPOS`]; `kit/b` has
/// three tags.
fn populated(auth: Option<(&str, &str)>) -> common::Registry {
    let layout = common::kit().join("apps.oci");
    let reg = common::Registry::start(auth);
    for repo in REPOS {
        reg.push(&layout, &format!("{repo}:v1"));
    }
    reg.push(&layout, "kit/b:v2");
    reg.push(&layout, "kit/b:1.0");
    reg
}

#[test]
fn lists_an_authenticated_registry() {
    let reg = populated(Some(("kit-user", "kit-pass")));
    let opts = creds("kit-user", "kit-pass");

    let all = list_repositories(&reg.addr, &opts, &ListOptions::default()).unwrap();
    assert_eq!(all, REPOS);
    // one and two names a page: the Link headers are followed to the end
    for n in [1, 2] {
        assert_eq!(
            list_repositories(&reg.addr, &opts, &paged(0, n)).unwrap(),
            REPOS,
            "page size {n}"
        );
    }
    // a limit stops mid-way, across pages
    assert_eq!(
        list_repositories(&reg.addr, &opts, &paged(3, 2)).unwrap(),
        &REPOS[..3]
    );
    assert_eq!(
        list_repositories(&reg.addr, &opts, &ListOptions::limit(1)).unwrap(),
        &REPOS[..1]
    );

    let mut tags = list_tags(&reg.addr, "kit/b", &opts, &ListOptions::default()).unwrap();
    tags.sort();
    assert_eq!(tags, ["1.0", "v1", "v2"]);
    assert_eq!(
        list_tags(&reg.addr, "other/e", &opts, &ListOptions::default()).unwrap(),
        ["v1"]
    );
    assert_eq!(
        list_tags(&reg.addr, "kit/b", &opts, &ListOptions::limit(2))
            .unwrap()
            .len(),
        2
    );

    // credentials from a Docker config.json, as for pulls
    let d = tempfile::tempdir().unwrap();
    let cfg = reg.docker_config(d.path());
    let from_config = RegistryOptions {
        docker_config: Some(cfg),
        ..anonymous()
    };
    assert_eq!(
        list_repositories(&reg.addr, &from_config, &ListOptions::default()).unwrap(),
        REPOS
    );

    // no credentials: the registry and the fix are named
    for e in [
        list_repositories(&reg.addr, &anonymous(), &ListOptions::default()).unwrap_err(),
        list_tags(&reg.addr, "kit/b", &anonymous(), &ListOptions::default()).unwrap_err(),
    ] {
        assert!(matches!(e, Error::Unauthorized { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&reg.addr)
                && msg.contains("requires credentials")
                && msg.contains("--username/--password"),
            "{msg}"
        );
        eprintln!("no credentials: {msg}");
    }
    let e = list_repositories(
        &reg.addr,
        &creds("kit-user", "wrong"),
        &ListOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("wrong username or password"), "{e}");

    // an unknown repository
    let e = list_tags(&reg.addr, "kit/nope", &opts, &ListOptions::default()).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("{}/kit/nope", reg.addr))
            && msg.contains("NAME_UNKNOWN")
            && msg.contains("check the repository name"),
        "{msg}"
    );
    eprintln!("unknown repository: {msg}");

    // TLS asked of a plain-HTTP registry: the hint names --insecure
    let tls = RegistryOptions {
        insecure: false,
        ..opts
    };
    let e = list_repositories(&reg.addr, &tls, &ListOptions::default()).unwrap_err();
    assert!(e.to_string().contains("--insecure"), "{e}");
}

#[test]
fn lists_an_open_registry() {
    let reg = common::Registry::start(None);
    let layout = common::kit().join("apps.oci");
    reg.push(&layout, "solo:v1");
    reg.push(&layout, "solo:v2");
    assert_eq!(
        list_repositories(&reg.addr, &anonymous(), &paged(0, 1)).unwrap(),
        ["solo"]
    );
    let mut tags = list_tags(&reg.addr, "solo", &anonymous(), &ListOptions::default()).unwrap();
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);
}

// --- a token-authenticated registry ---

const USER: &str = "bob:s3cret";
/// may pull, but not read the catalog
const PULLER: &str = "pat:pw";
const TAGS: [&str; 7] = ["1.0", "1.1", "2.0", "latest", "v1", "v2", "v3"];

struct Fake {
    addr: String,
    /// whether `/v2/_catalog` exists
    catalog: bool,
    /// request paths (token requests included), for the assertions
    log: Mutex<Vec<String>>,
}

fn query<'a>(q: &'a str, key: &str) -> Option<&'a str> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn basic(user_pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_pass)
    )
}

/// One page of `names` after `last`, `n` long, with the next page's link (absolute when asked).
fn page(
    f: &Fake,
    s: &mut TcpStream,
    path: &str,
    q: &str,
    key: &str,
    names: &[&str],
    absolute: bool,
) {
    let n: usize = query(q, "n").and_then(|n| n.parse().ok()).unwrap_or(100);
    let last = query(q, "last").map(|l| l.replace("%2F", "/"));
    let start = last.map_or(0, |l| names.iter().position(|x| **x == l).unwrap() + 1);
    let end = (start + n).min(names.len());
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    if end < names.len() {
        let host = if absolute {
            format!("http://{}", f.addr)
        } else {
            String::new()
        };
        let link = format!(
            "<{host}{path}?last={}&n={n}>; rel=\"next\"",
            names[end - 1].replace('/', "%2F")
        );
        headers.push(("Link", link));
    }
    let body = serde_json::json!({ key: &names[start..end], "name": "kit/apps" });
    common::respond(s, "200 OK", &headers, body.to_string().as_bytes());
}

fn handle(f: &Fake, mut s: TcpStream) {
    let Some((target, auth)) = common::read_request(&s) else {
        return;
    };
    f.log.lock().unwrap().push(target.clone());
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    if path == "/token" {
        // the token names its scope; a puller's token has no catalog right
        let scope = query(q, "scope")
            .unwrap_or("")
            .replace("%3A", ":")
            .replace("%2A", "*")
            .replace("%2F", "/");
        let token = if auth == basic(USER) {
            format!("full {scope}")
        } else if auth == basic(PULLER) {
            format!("pull {scope}")
        } else {
            return common::respond(&mut s, "401 Unauthorized", &[], b"{}");
        };
        let body = serde_json::json!({ "token": token.replace(' ', "_") });
        return common::respond(&mut s, "200 OK", &[], body.to_string().as_bytes());
    }
    let challenge = |scope: Option<&str>| {
        let mut c = format!(
            r#"Bearer realm="http://{}/token",service="fake-registry""#,
            f.addr
        );
        if let Some(s) = scope {
            c.push_str(&format!(r#",scope="{s}""#));
        }
        c
    };
    let denied = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
    match path {
        "/v2/_catalog" if !f.catalog => {
            common::respond(&mut s, "404 Not Found", &[], b"404 page not found")
        }
        "/v2/_catalog" => {
            // no scope in the challenge (as some registries do): the client asks for the
            // catalog scope itself
            if auth != "Bearer full_registry:catalog:*" {
                return common::respond(
                    &mut s,
                    "401 Unauthorized",
                    &[("WWW-Authenticate", challenge(None))],
                    denied,
                );
            }
            let repos: Vec<String> = (0..7).map(|i| format!("kit/r{i}")).collect();
            let repos: Vec<&str> = repos.iter().map(String::as_str).collect();
            page(f, &mut s, path, q, "repositories", &repos, false);
        }
        "/v2/kit/apps/tags/list" => {
            let scope = "repository:kit/apps:pull";
            if auth != format!("Bearer full_{scope}") && auth != format!("Bearer pull_{scope}") {
                return common::respond(
                    &mut s,
                    "401 Unauthorized",
                    &[("WWW-Authenticate", challenge(Some(scope)))],
                    denied,
                );
            }
            page(f, &mut s, path, q, "tags", &TAGS, true);
        }
        _ => {
            // a token registry answers for an unknown repository as for a forbidden one
            let scope = format!(
                "repository:{}:pull",
                path.trim_start_matches("/v2/")
                    .trim_end_matches("/tags/list")
            );
            common::respond(
                &mut s,
                "401 Unauthorized",
                &[("WWW-Authenticate", challenge(Some(&scope)))],
                denied,
            )
        }
    }
}

fn start_fake(catalog: bool) -> Arc<Fake> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let fake = Arc::new(Fake {
        addr: listener.local_addr().unwrap().to_string(),
        catalog,
        log: Mutex::new(Vec::new()),
    });
    let f = fake.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            handle(&f, s);
        }
    });
    fake
}

fn user(user_pass: &str) -> RegistryOptions {
    let (u, p) = user_pass.split_once(':').unwrap();
    creds(u, p)
}

#[test]
fn token_registry_scopes_and_paged_tags() {
    let f = start_fake(true);
    let repos: Vec<String> = (0..7).map(|i| format!("kit/r{i}")).collect();
    assert_eq!(
        list_repositories(&f.addr, &user(USER), &paged(0, 3)).unwrap(),
        repos
    );
    let log = std::mem::take(&mut *f.log.lock().unwrap());
    assert!(
        log.iter()
            .any(|p| p.starts_with("/token?scope=registry%3Acatalog%3A%2A&service=fake-registry")),
        "{log:?}"
    );
    // three pages of at most three, the token fetched once
    let pages: Vec<&String> = log
        .iter()
        .filter(|p| p.starts_with("/v2/_catalog"))
        .collect();
    assert_eq!(pages.len(), 4, "{log:?}"); // the challenged first request, then 3 pages
    assert_eq!(log.iter().filter(|p| p.starts_with("/token")).count(), 1);

    // tags: two to a page, next links absolute
    assert_eq!(
        list_tags(&f.addr, "kit/apps", &user(USER), &paged(0, 2)).unwrap(),
        TAGS
    );
    let log = std::mem::take(&mut *f.log.lock().unwrap());
    assert!(
        log.iter()
            .any(|p| p.contains("scope=repository%3Akit%2Fapps%3Apull")),
        "{log:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|p| p.starts_with("/v2/kit/apps/tags/list"))
            .count(),
        5,
        "{log:?}"
    );
    assert_eq!(
        list_tags(&f.addr, "kit/apps", &user(PULLER), &paged(5, 2)).unwrap(),
        &TAGS[..5]
    );

    // the puller gets a token, but not for the catalog
    let e = list_repositories(&f.addr, &user(PULLER), &ListOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("refused access to the repository catalog")
            && e.to_string().contains("lacks the permission"),
        "{e}"
    );
    eprintln!("no catalog right: {e}");
    // wrong password, at the token service
    let e = list_repositories(&f.addr, &user("bob:nope"), &ListOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("token service rejected the credentials"),
        "{e}"
    );
    // an unknown repository behind token authentication
    let e = list_tags(&f.addr, "kit/nope", &user(USER), &ListOptions::default()).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
}

#[test]
fn registry_without_a_catalog() {
    let f = start_fake(false);
    let e = list_repositories(&f.addr, &user(USER), &ListOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&f.addr)
            && msg.contains("does not offer a catalog")
            && msg.contains("list repositories explicitly"),
        "{msg}"
    );
    eprintln!("no catalog: {msg}");
    // Docker Hub is known to have none: refused without a request
    let e = list_repositories("docker.io", &anonymous(), &ListOptions::default()).unwrap_err();
    assert!(e.to_string().contains("does not offer a catalog"), "{e}");
}
