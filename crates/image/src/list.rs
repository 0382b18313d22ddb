//! Registry listings: the repository catalog (`/v2/_catalog`) and a repository's tags
//! (`/v2/<name>/tags/list`), both paged with `n` and the `Link: <...>; rel="next"` header of the
//! distribution API. Requests go through the registry client, so authentication, `--insecure`
//! and Docker config credentials work as they do for pulls.

use std::collections::HashSet;
use std::io::Read;

use crate::registry::{Client, RegistryOptions};
use crate::{Error, Reference, Result};

/// Largest listing document read (a page of 1000 long names is well under this).
const MAX_PAGE_DOC: u64 = 8 << 20;

/// How much of a listing to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOptions {
    /// Most names returned; 0 = all.
    pub limit: usize,
    /// Names asked for per request (`n`); the registry may answer with fewer. 0 = the default.
    pub page_size: usize,
}

impl ListOptions {
    /// 100 per request: Quay and Harbor cap pages there, and Docker's registry refuses an `n`
    /// above its configured maximum (1000 by default) rather than capping it.
    pub const DEFAULT_PAGE_SIZE: usize = 100;

    /// At most `limit` names (0 = all), default page size.
    pub fn limit(limit: usize) -> Self {
        Self {
            limit,
            page_size: Self::DEFAULT_PAGE_SIZE,
        }
    }
}

impl Default for ListOptions {
    fn default() -> Self {
        Self::limit(0)
    }
}

/// Repositories of `registry` (`host[:port]`), in the registry's order (lexical for Docker's).
pub fn list_repositories(
    registry: &str,
    opts: &RegistryOptions,
    list: &ListOptions,
) -> Result<Vec<String>> {
    check_registry(registry)?;
    let no_catalog = |detail: &str| {
        Error::msg(format!(
            "registry {registry}: this registry does not offer a catalog (e.g. Docker Hub); list repositories explicitly{detail}"
        ))
    };
    // Docker Hub has no catalog for its users (its token service never grants
    // `registry:catalog:*`), so asking would only end in a misleading authentication error
    if registry == "docker.io" {
        return Err(no_catalog(""));
    }
    let client = Client::with_scope(
        registry,
        "the repository catalog",
        format!("registry {registry}"),
        "registry:catalog:*".into(),
        opts,
    );
    fetch_pages(&client, "/v2/_catalog", "repository catalog", list, |doc| {
        names(doc, "repositories")
    })
    .map_err(|e| match e {
        Error::NotFound { detail, .. } => no_catalog(&format!(" (/v2/_catalog: {detail})")),
        other => other,
    })
}

/// Tags of `repository` in `registry` (`host[:port]`; for Docker Hub `docker.io`, where a name
/// without `/` is an official image under `library/`).
pub fn list_tags(
    registry: &str,
    repository: &str,
    opts: &RegistryOptions,
    list: &ListOptions,
) -> Result<Vec<String>> {
    check_registry(registry)?;
    // the reference parser checks the name (under `localhost`, which it always takes for a
    // registry, so that the first part of the name is never read as one)
    let repo = Reference::parse(&format!("localhost/{repository}"))
        .ok()
        .filter(|r| r.digest.is_none() && !repository.contains(':') && !repository.starts_with('/'))
        .map(|r| r.repository)
        .ok_or_else(|| {
            Error::msg(format!(
                "registry {registry}: invalid repository name {repository:?} (lower-case letters, digits, '.', '_', '-' and '/', without a tag or digest)"
            ))
        })?;
    // Docker Hub's official images live under `library/`, as in image references
    let repo = if registry == "docker.io" && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo
    };
    let client = Client::with_scope(
        registry,
        &repo,
        format!("{registry}/{repo}"),
        format!("repository:{repo}:pull"),
        opts,
    );
    fetch_pages(
        &client,
        &format!("/v2/{repo}/tags/list"),
        "tag list",
        list,
        |doc| names(doc, "tags"),
    )
    .map_err(|e| match e {
        Error::NotFound { reference, detail } => Error::NotFound {
            reference,
            detail: format!("{detail}; check the repository name"),
        },
        other => other,
    })
}

fn check_registry(registry: &str) -> Result<()> {
    if registry.is_empty()
        || registry.contains('/')
        || registry.contains(char::is_whitespace)
        || registry.contains('@')
    {
        return Err(Error::msg(format!(
            "invalid registry {registry:?}: give the host and optional port only (e.g. registry.example.com or 127.0.0.1:5000; plain HTTP is --insecure)"
        )));
    }
    Ok(())
}

/// The string array `key` of a listing page; `null` (a repository whose tags were all deleted)
/// is empty.
fn names(doc: &serde_json::Value, key: &str) -> Option<Vec<String>> {
    match doc.get(key)? {
        serde_json::Value::Null => Some(Vec::new()),
        v => v
            .as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect(),
    }
}

/// Follows the `next` links from `path` until the registry has no more or `list.limit` is met.
fn fetch_pages(
    client: &Client,
    path: &str,
    what: &str,
    list: &ListOptions,
    extract: impl Fn(&serde_json::Value) -> Option<Vec<String>>,
) -> Result<Vec<String>> {
    let mut page_size = match list.page_size {
        0 => ListOptions::DEFAULT_PAGE_SIZE,
        n => n,
    };
    if list.limit > 0 {
        // no more asked for than wanted; later pages take `n` from the registry's links
        page_size = page_size.min(list.limit);
    }
    let mut out = Vec::new();
    let mut next = Some(format!("{path}?n={page_size}"));
    // a registry whose links go round in circles would otherwise be followed forever
    let mut seen = HashSet::new();
    while let Some(page) = next.take() {
        if !seen.insert(page.clone()) {
            return Err(Error::msg(format!(
                "registry {}: {what}: the next-page link {page} was already fetched (the registry's paging loops)",
                client.registry
            )));
        }
        let resp = client.get(&page, Some("application/json"), what)?;
        // a registry may send one Link header per relation
        let links = resp.all("link").join(", ");
        next =
            match next_link(&links) {
                Some(l) => Some(link_path(&l).map_err(|e| {
                    Error::msg(format!("registry {}: {what}: {e}", client.registry))
                })?),
                None => None,
            };
        let mut body = Vec::new();
        resp.into_reader()
            .take(MAX_PAGE_DOC)
            .read_to_end(&mut body)
            .map_err(|e| Error::io(format!("registry {}: {what}", client.registry), e))?;
        let names = serde_json::from_slice(&body)
            .ok()
            .and_then(|doc| extract(&doc))
            .ok_or_else(|| {
                Error::msg(format!(
                    "registry {}: {what} from {page} is not a listing document: {}",
                    client.registry,
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ))
            })?;
        out.extend(names);
        if list.limit > 0 && out.len() >= list.limit {
            out.truncate(list.limit);
            break;
        }
    }
    Ok(out)
}

/// The target of the `rel="next"` entry of a `Link` header (RFC 8288: `<url>; param=value, ...`;
/// `rel` may hold several space-separated relations, and the URL may contain commas).
fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>')?;
        let url = &rest[start + 1..end];
        let params_end = rest[end..].find('<').map_or(rest.len(), |i| end + i);
        let is_next = rest[end + 1..params_end].split(';').any(|p| {
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(url.to_string());
        }
        rest = &rest[params_end..];
    }
    None
}

/// The path and query of a next-page link, to request from the registry the client talks to:
/// an absolute link is reduced to its path so that credentials never go to another host (a
/// registry behind a proxy may name its internal address).
fn link_path(link: &str) -> std::result::Result<String, String> {
    if link.starts_with('/') {
        return Ok(link.to_string());
    }
    if let Some((_, after_scheme)) = link.split_once("://") {
        return Ok(after_scheme
            .find('/')
            .map_or_else(|| "/".to_string(), |i| after_scheme[i..].to_string()));
    }
    Err(format!(
        "next-page link {link:?} is neither absolute nor rooted at /"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=kit%2Fb&n=2>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=kit%2Fb&n=2")
        );
        // several links, relation lists, unquoted values and commas inside the URL
        assert_eq!(
            next_link(
                r#"<https://r.example/v2/_catalog?n=1>; rel="first", <https://r.example/v2/x/tags/list?last=a,b&n=2>; title="more"; rel="last next""#
            )
            .as_deref(),
            Some("https://r.example/v2/x/tags/list?last=a,b&n=2")
        );
        assert_eq!(
            next_link("</v2/a?n=3>; rel=next").as_deref(),
            Some("/v2/a?n=3")
        );
        assert_eq!(next_link(r#"</v2/a?n=3>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("<unterminated; rel=next"), None);
    }

    #[test]
    fn next_link_paths_stay_on_the_registry() {
        assert_eq!(link_path("/v2/_catalog?n=2").unwrap(), "/v2/_catalog?n=2");
        assert_eq!(
            link_path("https://elsewhere.example:8443/v2/_catalog?last=x&n=2").unwrap(),
            "/v2/_catalog?last=x&n=2"
        );
        assert!(link_path("v2/_catalog?n=2").is_err());
    }

    #[test]
    fn reads_listing_documents() {
        let doc = serde_json::json!({"name": "a", "tags": ["v1", "v2"]});
        assert_eq!(names(&doc, "tags").unwrap(), ["v1", "v2"]);
        let doc = serde_json::json!({"name": "a", "tags": null});
        assert_eq!(names(&doc, "tags").unwrap(), Vec::<String>::new());
        assert!(names(&serde_json::json!({"tags": [1]}), "tags").is_none());
        assert!(names(&serde_json::json!({}), "repositories").is_none());
    }

    #[test]
    fn refuses_bad_names_before_any_request() {
        let opts = RegistryOptions::default();
        for bad in ["", "https://r.example", "r.example/x"] {
            let e = list_repositories(bad, &opts, &ListOptions::default()).unwrap_err();
            assert!(e.to_string().contains("host and optional port"), "{e}");
        }
        for bad in ["Upper", "kit/apps:v1", "kit/apps@sha256:00", "/kit", ""] {
            let e = list_tags("127.0.0.1:1", bad, &opts, &ListOptions::default()).unwrap_err();
            assert!(e.to_string().contains("invalid repository name"), "{e}");
        }
        let e = list_repositories("docker.io", &opts, &ListOptions::default()).unwrap_err();
        assert!(e.to_string().contains("does not offer a catalog"), "{e}");
    }
}
