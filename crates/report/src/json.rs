//! `json`: the report itself (upstream's v2 JSON shape), pretty-printed.

use kubescape_api::posture::{PostureReport, ResourceResult};

use crate::{Format, RenderError};

pub fn render(report: &PostureReport) -> Result<String, RenderError> {
    let mut text = serde_json::to_string_pretty(report).map_err(|source| RenderError::Json {
        format: Format::Json,
        source,
    })?;
    text.push('\n');
    Ok(text)
}

/// Streams the report as pretty-printed JSON.
pub fn write(report: &PostureReport, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(|source| RenderError::Json {
        format: Format::Json,
        source,
    })?;
    out.write_all(b"\n").map_err(RenderError::Io)
}

/// Streams the report, taking each resource's object from `object_of` when the report carries
/// none: a scan of a large cluster then never holds every object twice (once for the rules, once
/// in the report).
pub fn write_with_objects(
    report: &PostureReport,
    object_of: &dyn Fn(&str) -> Option<serde_json::Value>,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    write_streamed(report, object_of, None, out)
}

/// The results of a report, produced one resource at a time (in the order the report lists them).
pub type ResultsSource<'a, 'r> = &'a dyn Fn() -> Box<dyn Iterator<Item = ResourceResult> + 'r>;

/// Like [`write_with_objects`], and with `results` (when given) written from that source instead
/// of `report.results`: a large scan's results are then never all materialised at once.
pub fn write_streamed(
    report: &PostureReport,
    object_of: &dyn Fn(&str) -> Option<serde_json::Value>,
    results: Option<ResultsSource<'_, '_>>,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    let wrapped = WithObjects {
        report,
        object_of,
        results,
    };
    serde_json::to_writer_pretty(&mut *out, &wrapped).map_err(|source| RenderError::Json {
        format: Format::Json,
        source,
    })?;
    out.write_all(b"\n").map_err(RenderError::Io)
}

struct WithObjects<'a, 'r> {
    report: &'a PostureReport,
    object_of: &'a dyn Fn(&str) -> Option<serde_json::Value>,
    results: Option<ResultsSource<'a, 'r>>,
}

/// Serialises results one by one as the source yields them.
struct Streamed<'a, 'r>(ResultsSource<'a, 'r>);

impl serde::Serialize for Streamed<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// Field for field what `#[derive(Serialize)]` writes for `PostureReport`, with the resources
/// serialised one by one (checked by a test against the derived form).
impl serde::Serialize for WithObjects<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let r = self.report;
        let mut st = s.serialize_struct("PostureReport", 7)?;
        st.serialize_field("generationTime", &r.generation_time)?;
        st.serialize_field("clusterName", &r.cluster_name)?;
        st.serialize_field("reportGUID", &r.report_guid)?;
        st.serialize_field("summaryDetails", &r.summary_details)?;
        st.serialize_field("resources", &Resources(self))?;
        match self.results {
            Some(source) => st.serialize_field("results", &Streamed(source))?,
            None => st.serialize_field("results", &r.results)?,
        }
        st.serialize_field("metadata", &r.metadata)?;
        st.end()
    }
}

struct Resources<'a, 'b, 'r>(&'b WithObjects<'a, 'r>);

impl serde::Serialize for Resources<'_, '_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};
        struct One<'b>(
            &'b kubescape_api::posture::Resource,
            Option<serde_json::Value>,
        );
        impl serde::Serialize for One<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let object = if self.0.object.is_null() {
                    self.1.as_ref()
                } else {
                    Some(&self.0.object)
                };
                let mut st = s.serialize_struct("Resource", 3)?;
                st.serialize_field("resourceID", &self.0.resource_id)?;
                match object {
                    Some(o) if !o.is_null() => st.serialize_field("object", o)?,
                    _ => st.skip_field("object")?,
                }
                match &self.0.source {
                    Some(src) => st.serialize_field("source", src)?,
                    None => st.skip_field("source")?,
                }
                st.end()
            }
        }
        let resources = &self.0.report.resources;
        let mut seq = s.serialize_seq(Some(resources.len()))?;
        for res in resources {
            let injected = if res.object.is_null() {
                (self.0.object_of)(&res.resource_id)
            } else {
                None
            };
            seq.serialize_element(&One(res, injected))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubescape_api::posture::{Resource, Source};

    #[test]
    fn injected_objects_serialise_exactly_like_embedded_ones() {
        let object = serde_json::json!({"kind": "Pod", "metadata": {"name": "p"}});
        let mut embedded = PostureReport {
            cluster_name: "c".into(),
            ..Default::default()
        };
        embedded.resources = vec![
            Resource {
                resource_id: "/v1/ns/Pod/p".into(),
                object: object.clone(),
                source: Some(Source {
                    relative_path: "a.yaml".into(),
                    ..Default::default()
                }),
            },
            Resource {
                resource_id: "rbac///User/u".into(),
                ..Default::default()
            },
        ];
        let mut bare = embedded.clone();
        bare.resources[0].object = serde_json::Value::Null;
        let lookup = |id: &str| (id == "/v1/ns/Pod/p").then(|| object.clone());
        let mut a = Vec::new();
        write(&embedded, &mut a).unwrap();
        let mut b = Vec::new();
        write_with_objects(&bare, &lookup, &mut b).unwrap();
        assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
    }

    #[test]
    fn streamed_results_serialise_exactly_like_embedded_ones() {
        use kubescape_api::posture::{ResourceControl, ResourceResult};
        let result = |id: &str| ResourceResult {
            resource_id: id.into(),
            controls: vec![ResourceControl {
                control_id: "C-0016".into(),
                ..Default::default()
            }],
        };
        let embedded = PostureReport {
            results: vec![result("a"), result("b")],
            ..Default::default()
        };
        let bare = PostureReport::default();
        let source = || -> Box<dyn Iterator<Item = ResourceResult>> {
            Box::new(["a", "b"].into_iter().map(result))
        };
        let none = |_: &str| None;
        let mut a = Vec::new();
        write(&embedded, &mut a).unwrap();
        let mut b = Vec::new();
        write_streamed(&bare, &none, Some(&source), &mut b).unwrap();
        assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
        // An empty source writes an empty list, as an empty report does.
        let empty = || -> Box<dyn Iterator<Item = ResourceResult>> { Box::new(std::iter::empty()) };
        let mut c = Vec::new();
        write_streamed(&bare, &none, Some(&empty), &mut c).unwrap();
        let mut d = Vec::new();
        write(&bare, &mut d).unwrap();
        assert_eq!(c, d);
    }
}
