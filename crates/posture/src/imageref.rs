//! Docker image reference normalisation, as `image.parse_normalized_name` does upstream.

/// `nginx` -> `docker.io/library/nginx`, `me/app:1` -> `docker.io/me/app:1`,
/// `quay.io/x/y@sha256:..` unchanged. Returns `None` for references Docker would reject.
pub fn normalize(reference: &str) -> Option<String> {
    if reference.is_empty() || reference.contains(char::is_whitespace) {
        return None;
    }
    let (first, rest) = match reference.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (reference, None),
    };
    let is_domain = |s: &str| {
        s.contains('.')
            || s.contains(':')
            || s == "localhost"
            || s.chars().any(|c| c.is_ascii_uppercase())
    };
    let (domain, path) = match rest {
        Some(rest) if is_domain(first) => (first.to_string(), rest.to_string()),
        _ => ("docker.io".to_string(), reference.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io".to_string()
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    // The repository part (before tag/digest) must be lower-case.
    let repo_end = path.find(['@']).unwrap_or(path.len());
    let repo_end = path[..repo_end]
        .rfind(':')
        .filter(|&i| !path[i..repo_end].contains('/'))
        .unwrap_or(repo_end);
    if path[..repo_end].chars().any(|c| c.is_ascii_uppercase()) || path[..repo_end].is_empty() {
        return None;
    }
    Some(format!("{domain}/{path}"))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn docker_normalisation() {
        assert_eq!(normalize("nginx").unwrap(), "docker.io/library/nginx");
        assert_eq!(
            normalize("nginx:1.25").unwrap(),
            "docker.io/library/nginx:1.25"
        );
        assert_eq!(normalize("me/app:1").unwrap(), "docker.io/me/app:1");
        assert_eq!(
            normalize("quay.io/kubescape/kubescape:v3").unwrap(),
            "quay.io/kubescape/kubescape:v3"
        );
        assert_eq!(
            normalize("localhost:5000/app").unwrap(),
            "localhost:5000/app"
        );
        assert_eq!(
            normalize("index.docker.io/library/redis").unwrap(),
            "docker.io/library/redis"
        );
        assert!(normalize("Nginx").is_none());
        assert!(normalize("").is_none());
    }
}
