//! The built-in control library, embedded at build time from `library/` (source layout:
//! `frameworks/`, `controls/`, `rules/<dir>/{rule.metadata.json,raw.rego,filter.rego}`,
//! `default-config-inputs.json`, `exceptions/`, `attack-tracks/`).

use include_dir::{include_dir, Dir, DirEntry};

static LIBRARY: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/library");

/// Every file of the built-in library as (path relative to the library root, contents).
pub fn files() -> Vec<(&'static str, &'static [u8])> {
    let mut out = Vec::new();
    collect(&LIBRARY, &mut out);
    out.sort_by_key(|(p, _)| *p);
    out
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<(&'static str, &'static [u8])>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(d) => collect(d, out),
            DirEntry::File(f) => {
                if let Some(p) = f.path().to_str() {
                    out.push((p, f.contents()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn library_is_embedded() {
        let files = super::files();
        assert!(files
            .iter()
            .any(|(p, _)| *p == "default-config-inputs.json"));
        assert!(
            files
                .iter()
                .filter(|(p, _)| p.starts_with("frameworks/"))
                .count()
                >= 17
        );
    }
}
