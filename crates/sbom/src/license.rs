//! License strings -> SPDX identifiers where they are ones.

use std::collections::HashMap;
use std::sync::OnceLock;

/// SPDX license list identifiers (from the SPDX license list, via CycloneDX's spdx.schema.json).
static IDS: &str = include_str!("spdx-license-ids.txt");

fn ids() -> &'static HashMap<String, &'static str> {
    static MAP: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        IDS.lines()
            .filter(|l| !l.is_empty())
            .map(|l| (l.to_ascii_lowercase(), l))
            .collect()
    })
}

/// The SPDX identifier a license string stands for, when there is one: exact identifiers
/// (any case), Debian/Python short names and the common spelled-out names.
pub fn spdx_id(raw: &str) -> Option<&'static str> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let short = lower.trim_end_matches(" license").trim();
    let found = [lower.as_str(), short]
        .into_iter()
        .find_map(|l| ids().get(l).copied().or_else(|| alias(l)));
    found
}

fn alias(lower: &str) -> Option<&'static str> {
    let alias = match lower {
        "mit" | "expat" | "mit/expat" => "MIT",
        "gpl-2" | "gplv2" | "gpl2" | "gnu gpl v2" => "GPL-2.0-only",
        "gpl-2+" | "gplv2+" | "gpl-2.0+" => "GPL-2.0-or-later",
        "gpl-3" | "gplv3" | "gpl3" => "GPL-3.0-only",
        "gpl-3+" | "gplv3+" | "gpl-3.0+" => "GPL-3.0-or-later",
        "gpl" | "gpl-1+" | "gpl-1.0+" => "GPL-1.0-or-later",
        "gpl-1" => "GPL-1.0-only",
        "lgpl-2" => "LGPL-2.0-only",
        "lgpl-2+" => "LGPL-2.0-or-later",
        "lgpl-2.1" | "lgplv2.1" => "LGPL-2.1-only",
        "lgpl-2.1+" | "lgplv2.1+" => "LGPL-2.1-or-later",
        "lgpl-3" | "lgplv3" => "LGPL-3.0-only",
        "lgpl-3+" | "lgplv3+" => "LGPL-3.0-or-later",
        "gfdl-1.2" => "GFDL-1.2-only",
        "gfdl-1.2+" => "GFDL-1.2-or-later",
        "gfdl-1.3" => "GFDL-1.3-only",
        "gfdl-1.3+" => "GFDL-1.3-or-later",
        "apache-2"
        | "apache 2.0"
        | "apache license 2.0"
        | "apache software license"
        | "apache license, version 2.0"
        | "apache 2"
        | "apache2" => "Apache-2.0",
        "bsd" | "bsd-3-clause" | "bsd 3-clause" | "new bsd" | "bsd license" | "3-clause bsd" => {
            "BSD-3-Clause"
        }
        "bsd-2-clause" | "bsd 2-clause" | "simplified bsd" => "BSD-2-Clause",
        "bsd-4-clause" => "BSD-4-Clause",
        "isc license (iscl)" | "iscl" => "ISC",
        "mozilla public license 2.0 (mpl 2.0)" | "mpl 2.0" | "mpl-2" => "MPL-2.0",
        "python software foundation" | "psf" | "psf license" | "psf-2.0" => "PSF-2.0",
        "artistic" | "artistic-1" => "Artistic-1.0",
        "artistic-2" => "Artistic-2.0",
        "zlib" => "Zlib",
        _ => return None,
    };
    ids().get(&alias.to_ascii_lowercase()).copied()
}

/// A license from a Python trove classifier (`License :: OSI Approved :: MIT License`).
pub fn from_classifier(c: &str) -> Option<String> {
    let rest = c.strip_prefix("License :: ")?;
    let last = rest.rsplit(" :: ").next()?.trim();
    if last == "OSI Approved" {
        return None;
    }
    Some(
        spdx_id(last)
            .map(str::to_string)
            .unwrap_or_else(|| last.to_string()),
    )
}

/// `LicenseRef-` identifier for a string that is not an SPDX id.
pub fn license_ref(raw: &str) -> String {
    let mut s = String::from("LicenseRef-");
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            s.push(c);
        } else {
            s.push('-');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_licenses() {
        assert_eq!(spdx_id("mit"), Some("MIT"));
        assert_eq!(spdx_id("GPL-2+"), Some("GPL-2.0-or-later"));
        assert_eq!(spdx_id("Apache-2.0"), Some("Apache-2.0"));
        assert_eq!(spdx_id("Apache Software License"), Some("Apache-2.0"));
        assert_eq!(spdx_id("something odd"), None);
        assert_eq!(
            from_classifier("License :: OSI Approved :: MIT License").as_deref(),
            Some("MIT")
        );
        assert_eq!(license_ref("public domain"), "LicenseRef-public-domain");
    }
}
