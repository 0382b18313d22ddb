//! What a server serves: one [`ResourceDef`] per resource of an API group version.

use serde_json::Value;

/// A column of `kubectl get` output (a `Table` response).
#[derive(Debug, Clone)]
pub struct Column {
    pub name: &'static str,
    /// OpenAPI type of the cell: `string`, `integer`, `date`, ...
    pub kind: &'static str,
    /// Dotted path into the object (`spec.severities.critical.all`); `metadata.creationTimestamp`
    /// renders as an age.
    pub path: &'static str,
    pub description: &'static str,
    /// 0 = always shown, 1 = only with `-o wide`.
    pub priority: u8,
}

/// One resource (a plural name in a URL) of a group version.
#[derive(Debug, Clone)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub list_kind: String,
    pub short_names: &'static [&'static str],
    pub namespaced: bool,
    /// Computed on read from other objects: no create, update, patch or delete.
    pub computed: bool,
    /// Largest accepted request body for a write, in bytes.
    pub max_object_bytes: usize,
    pub description: &'static str,
    /// OpenAPI v3 schema of the object's fields besides apiVersion, kind and metadata, as a map
    /// from property name to schema.
    pub properties: Value,
    pub columns: Vec<Column>,
}

impl ResourceDef {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        if self.computed {
            vec!["get", "list", "watch"]
        } else {
            vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }
}

/// The resources of one group version, as a server serves them.
#[derive(Debug, Clone)]
pub struct Registry {
    pub group: &'static str,
    pub version: &'static str,
    pub resources: Vec<ResourceDef>,
}

impl Registry {
    pub fn find(&self, plural: &str) -> Option<(usize, &ResourceDef)> {
        self.resources
            .iter()
            .enumerate()
            .find(|(_, r)| r.plural == plural)
    }

    pub fn group_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }
}
