//! Posture exception policies (`postureExceptionPolicy`): turn matching failures into passes.

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawPolicy {
    #[serde(default)]
    name: String,
    #[serde(default)]
    resources: Vec<RawDesignator>,
    #[serde(default)]
    posture_policies: Vec<RawPosturePolicy>,
    #[serde(default)]
    expiration_date: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
struct RawDesignator {
    #[serde(default)]
    attributes: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawPosturePolicy {
    #[serde(default)]
    framework_name: String,
    #[serde(default, rename = "controlID")]
    control_id: String,
    #[serde(default)]
    control_name: String,
    #[serde(default)]
    rule_name: String,
}

/// One compiled exception policy.
#[derive(Debug)]
pub struct ExceptionPolicy {
    pub name: String,
    /// The policy as given, reported with the results it excepted.
    pub raw: Value,
    resources: Vec<Vec<(String, Pattern)>>,
    policies: Vec<[Option<Pattern>; 4]>,
}

/// What an exception is matched against.
pub struct Subject<'a> {
    pub object: &'a Value,
    pub resource_id: &'a str,
    pub cluster: &'a str,
    pub framework: &'a str,
    pub control_id: &'a str,
    pub control_name: &'a str,
    pub rule_name: &'a str,
}

/// A value an exception matches a whole string against (upstream treats every value as a
/// regular expression).
#[derive(Debug)]
enum Pattern {
    /// Most values (names, namespaces, kinds) have no special characters: compared as strings.
    /// Compiling the built-in exceptions' 1,200 values as regular expressions took about 12 MiB.
    Literal(String),
    Regex(Regex),
}

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Literal(l) => l == s,
            Pattern::Regex(re) => re.is_match(s),
        }
    }
}

fn anchored(pattern: &str, what: &str) -> Result<Pattern> {
    // Outside a character class only these characters are special.
    if !pattern.contains(|c| "\\.+*?()|[]{}^$".contains(c)) {
        return Ok(Pattern::Literal(pattern.to_string()));
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(Pattern::Regex)
        .map_err(|e| Error::Input {
            what: what.to_string(),
            message: format!("invalid pattern {pattern:?}: {e}"),
        })
}

impl ExceptionPolicy {
    /// Parses policies from a JSON value (one policy or a list); expired policies are dropped.
    pub fn parse_all(
        v: &Value,
        what: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ExceptionPolicy>> {
        let list = match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let mut out = Vec::new();
        for raw in list {
            let p: RawPolicy = serde_json::from_value(raw.clone()).map_err(|e| Error::Input {
                what: what.to_string(),
                message: format!("not an exception policy: {e}"),
            })?;
            if let Some(exp) = p.expiration_date.as_deref().filter(|s| !s.is_empty()) {
                match chrono::DateTime::parse_from_rfc3339(exp) {
                    Ok(t) if t < now => continue,
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::Input {
                            what: format!("{what}: exception {}", p.name),
                            message: format!("expirationDate {exp:?} is not RFC 3339: {e}"),
                        })
                    }
                }
            }
            let ctx = format!("{what}: exception {}", p.name);
            let mut resources = Vec::new();
            for d in &p.resources {
                let mut attrs = Vec::new();
                for (k, v) in &d.attributes {
                    let Some(s) = v.as_str() else { continue };
                    attrs.push((k.clone(), anchored(s, &ctx)?));
                }
                resources.push(attrs);
            }
            let mut policies = Vec::new();
            for pp in &p.posture_policies {
                let f = |s: &str| -> Result<Option<Pattern>> {
                    if s.is_empty() {
                        Ok(None)
                    } else {
                        anchored(s, &ctx).map(Some)
                    }
                };
                policies.push([
                    f(&pp.framework_name)?,
                    f(&pp.control_id)?,
                    f(&pp.control_name)?,
                    f(&pp.rule_name)?,
                ]);
            }
            out.push(ExceptionPolicy {
                name: p.name,
                raw,
                resources,
                policies,
            });
        }
        Ok(out)
    }

    pub fn matches(&self, s: &Subject) -> bool {
        self.matches_policy(s.framework, s.control_id, s.control_name, s.rule_name)
            && self.matches_resource(s.object, s.resource_id, s.cluster)
    }

    /// Whether the policy's `posturePolicies` cover this framework/control/rule (empty: all).
    pub fn matches_policy(
        &self,
        framework: &str,
        control_id: &str,
        control_name: &str,
        rule_name: &str,
    ) -> bool {
        self.policies.is_empty()
            || self.policies.iter().any(|[fw, id, name, rule]| {
                let ok = |p: &Option<Pattern>, v: &str| p.as_ref().is_none_or(|p| p.is_match(v));
                ok(fw, framework)
                    && ok(id, control_id)
                    && ok(name, control_name)
                    && ok(rule, rule_name)
            })
    }

    /// Whether one of the policy's resource designators matches the object.
    pub fn matches_resource(&self, object: &Value, resource_id: &str, cluster: &str) -> bool {
        self.resources.iter().any(|attrs| {
            attrs
                .iter()
                .all(|(k, re)| attribute_matches(k, re, object, resource_id, cluster))
        })
    }
}

fn attribute_matches(
    key: &str,
    re: &Pattern,
    object: &Value,
    resource_id: &str,
    cluster: &str,
) -> bool {
    let meta = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("");
    match key {
        "cluster" => re.is_match(cluster),
        "namespace" => re.is_match(meta("/metadata/namespace")),
        "kind" => re.is_match(meta("/kind")),
        "name" => re.is_match(meta("/metadata/name")),
        "resourceID" => re.is_match(resource_id),
        // Path- and container-scoped exceptions apply to the whole resource here.
        "path" | "containerName" => true,
        label => ["labels", "annotations"].iter().any(|m| {
            object
                .pointer(&format!("/metadata/{m}"))
                .and_then(|o| o.get(label))
                .and_then(Value::as_str)
                .is_some_and(|v| re.is_match(v))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subject<'a>(o: &'a Value, control: &'a str) -> Subject<'a> {
        Subject {
            object: o,
            resource_id: "x",
            cluster: "",
            framework: "NSA",
            control_id: control,
            control_name: "",
            rule_name: "",
        }
    }

    #[test]
    fn plain_values_match_whole_strings_and_patterns_stay_regular_expressions() {
        let p = |s: &str| anchored(s, "test").unwrap();
        assert!(matches!(p("kube-system"), Pattern::Literal(_)));
        assert!(p("kube-system").is_match("kube-system"));
        assert!(!p("kube-system").is_match("kube-system2"));
        assert!(matches!(p("kube-.*"), Pattern::Regex(_)));
        assert!(p("kube-.*").is_match("kube-public"));
        assert!(!p("a.c").is_match("a.cd"));
        assert!(p("a.c").is_match("abc"));
        assert!(p("x|y").is_match("y"));
    }

    #[test]
    fn matches_by_attributes_labels_and_controls() {
        let now = chrono::Utc::now();
        let ps = ExceptionPolicy::parse_all(
            &json!([{"name": "e", "resources": [{"designatorType": "Attributes", "attributes": {"kind": "Deploy.*", "team": "infra"}}],
                     "posturePolicies": [{"controlID": "C-0016"}]},
                    {"name": "old", "expirationDate": "2000-01-01T00:00:00Z", "resources": [{"attributes": {"kind": ".*"}}]}]),
            "t", now).unwrap();
        assert_eq!(ps.len(), 1);
        let o =
            json!({"kind": "Deployment", "metadata": {"name": "a", "labels": {"team": "infra"}}});
        assert!(ps[0].matches(&subject(&o, "C-0016")));
        assert!(!ps[0].matches(&subject(&o, "C-0017")));
        let other =
            json!({"kind": "Deployment", "metadata": {"name": "a", "labels": {"team": "web"}}});
        assert!(!ps[0].matches(&subject(&other, "C-0016")));
    }
}
