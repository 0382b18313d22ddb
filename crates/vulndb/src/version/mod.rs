//! Version comparison per package ecosystem.
//!
//! Each ecosystem publishes its own ordering rules and they disagree on
//! basic cases (`1.0~rc1` is older than `1.0` for dpkg and rpm, but not a
//! version at all for semver), so each has its own hand-written comparator.
//! These are the project's domain, so no third-party crate is used.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// `PartialOrd`, `PartialEq` and `Eq` of a type from its `Ord`, for versions whose different
/// spellings are equal (`1.0 == 1`): derived equality would disagree with the order.
macro_rules! equality_from_order {
    ($t:ty) => {
        impl PartialOrd for $t {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }

        impl Eq for $t {}
    };
}

mod apk;
mod composer;
mod dpkg;
mod maven;
mod nuget;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

/// A version scheme. Several OSV ecosystems share one scheme (Debian and
/// Ubuntu both use dpkg ordering), so this is the scheme, not the distro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    /// Debian policy versions: `[epoch:]upstream[-revision]`.
    Dpkg,
    /// Alpine apk-tools versions.
    Apk,
    /// RPM `[epoch:]version[-release]` with rpmvercmp segments.
    Rpm,
    /// Semantic Versioning 2.0.0 (npm, crates.io).
    Semver,
    /// Go module versions (semver with `v`, `+incompatible`, pseudo-versions).
    Go,
    /// Python PEP 440 versions.
    Pypi,
    /// RubyGems (`Gem::Version`).
    RubyGems,
    /// NuGet (.NET) versions.
    NuGet,
    /// Maven versions (`ComparableVersion`).
    Maven,
    /// Composer (PHP, Packagist) versions.
    Composer,
}

impl Ecosystem {
    /// Short name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Dpkg => "dpkg",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Semver => "semver",
            Ecosystem::Go => "Go",
            Ecosystem::Pypi => "PEP 440",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Maven => "Maven",
            Ecosystem::Composer => "Composer",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The ecosystem name is not one we know how to order versions for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEcosystem(pub String);

impl fmt::Display for UnknownEcosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown ecosystem {:?}: expected an OSV ecosystem such as Debian, Ubuntu, Alpine, \
             Red Hat, Rocky Linux, AlmaLinux, npm, crates.io, Go, PyPI, RubyGems, NuGet, Maven \
             or Packagist",
            self.0
        )
    }
}

impl std::error::Error for UnknownEcosystem {}

impl FromStr for Ecosystem {
    type Err = UnknownEcosystem;

    /// Accepts OSV ecosystem names. OSV qualifies distro ecosystems with a
    /// release after a colon (`Debian:12`, `Alpine:v3.19`), so only the part
    /// before the first colon decides. Our own scheme names are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let base = s.split(':').next().unwrap_or("").trim();
        let eco = match base {
            "Debian" | "Ubuntu" | "dpkg" | "deb" => Ecosystem::Dpkg,
            "Alpine" | "Wolfi" | "Chainguard" | "apk" => Ecosystem::Apk,
            "Red Hat" | "Rocky Linux" | "AlmaLinux" | "SUSE" | "openSUSE" | "Mageia" | "rpm" => {
                Ecosystem::Rpm
            }
            "npm" | "crates.io" | "semver" => Ecosystem::Semver,
            "Go" | "go" | "golang" => Ecosystem::Go,
            "PyPI" | "pypi" | "pep440" => Ecosystem::Pypi,
            "RubyGems" | "rubygems" | "gem" => Ecosystem::RubyGems,
            "NuGet" | "nuget" => Ecosystem::NuGet,
            "Maven" | "maven" => Ecosystem::Maven,
            "Packagist" | "packagist" | "composer" => Ecosystem::Composer,
            _ => return Err(UnknownEcosystem(s.to_string())),
        };
        Ok(eco)
    }
}

/// A string that is not a valid version of the given ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionError {
    pub ecosystem: Ecosystem,
    pub input: String,
    pub reason: String,
}

impl VersionError {
    fn new(ecosystem: Ecosystem, input: &str, reason: impl Into<String>) -> Self {
        VersionError {
            ecosystem,
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} version {:?}: {}",
            self.ecosystem, self.input, self.reason
        )
    }
}

impl std::error::Error for VersionError {}

/// Compares two versions of the same ecosystem.
///
/// Both inputs are validated first, so an error is returned for either
/// malformed input even when the other one would decide the order early.
pub fn compare(eco: Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    /// Parses both inputs with the scheme's parser, then orders them.
    fn by<'s, V>(
        eco: Ecosystem,
        a: &'s str,
        b: &'s str,
        parse: impl Fn(&'s str) -> Result<V, String>,
        cmp: impl Fn(&V, &V) -> Ordering,
    ) -> Result<Ordering, VersionError> {
        let va = parse(a).map_err(|reason| VersionError::new(eco, a, reason))?;
        let vb = parse(b).map_err(|reason| VersionError::new(eco, b, reason))?;
        Ok(cmp(&va, &vb))
    }
    match eco {
        Ecosystem::Dpkg => by(eco, a, b, dpkg::parse, dpkg::cmp),
        Ecosystem::Apk => by(eco, a, b, apk::parse, Ord::cmp),
        Ecosystem::Rpm => by(eco, a, b, rpm::parse, rpm::cmp),
        Ecosystem::Semver => by(eco, a, b, |s| semver::parse(s, false), Ord::cmp),
        Ecosystem::Go => by(eco, a, b, |s| semver::parse(s, true), Ord::cmp),
        Ecosystem::Pypi => by(eco, a, b, pep440::parse, Ord::cmp),
        Ecosystem::RubyGems => by(eco, a, b, rubygems::parse, Ord::cmp),
        Ecosystem::NuGet => by(eco, a, b, nuget::parse, Ord::cmp),
        Ecosystem::Maven => by(eco, a, b, maven::parse, Ord::cmp),
        Ecosystem::Composer => by(eco, a, b, composer::parse, Ord::cmp),
    }
}

/// Compares two runs of ASCII digits by numeric value without parsing them
/// into an integer, so arbitrarily long runs (dates, hashes of digits) never
/// overflow.
fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A run of digits ordered by numeric value (see [`cmp_digits`]); equality
/// is numeric too, so `01 == 1`, keeping `Eq` consistent with `Ord`.
#[derive(Debug, Clone)]
struct Num(String);

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(&self.0, &other.0)
    }
}

equality_from_order!(Num);

/// Splits `[epoch:]version[-release]`, the layout dpkg and rpm share: the epoch ends at the first
/// colon (missing: "0"), the release starts after the last hyphen so the version itself may
/// contain hyphens (missing: ""). `release_word` names the last part in errors.
pub(super) fn split_epoch_release<'a>(
    s: &'a str,
    release_word: &str,
) -> Result<(&'a str, &'a str, &'a str), String> {
    let (epoch, rest) = match s.split_once(':') {
        Some((e, rest)) => {
            if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("epoch {e:?} is not a number"));
            }
            (e, rest)
        }
        None => ("0", s),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((v, r)) => {
            if r.is_empty() {
                return Err(format!("empty {release_word} after '-'"));
            }
            (v, r)
        }
        None => (rest, ""),
    };
    Ok((epoch, version, release))
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Checks that every listed version is strictly less than each later one,
    /// that reversing the arguments reverses the answer (antisymmetry) and
    /// that each version equals itself.
    pub fn assert_ascending(eco: Ecosystem, versions: &[&str]) {
        for (i, a) in versions.iter().enumerate() {
            assert_eq!(compare(eco, a, a), Ok(Ordering::Equal), "{eco}: {a} == {a}");
            for b in &versions[i + 1..] {
                assert_eq!(compare(eco, a, b), Ok(Ordering::Less), "{eco}: {a} < {b}");
                assert_eq!(
                    compare(eco, b, a),
                    Ok(Ordering::Greater),
                    "{eco}: {b} > {a}"
                );
            }
        }
    }

    /// Checks pairwise expectations `(a, expected, b)` in both directions,
    /// then that all versions named in the table form a consistent total
    /// order (antisymmetric and transitive, equal versions interchangeable).
    pub fn assert_pairs(eco: Ecosystem, cases: &[(&str, Ordering, &str)]) {
        for &(a, want, b) in cases {
            assert_eq!(compare(eco, a, b), Ok(want), "{eco}: {a} vs {b}");
            assert_eq!(compare(eco, b, a), Ok(want.reverse()), "{eco}: {b} vs {a}");
        }
        let mut all: Vec<&str> = cases.iter().flat_map(|&(a, _, b)| [a, b]).collect();
        all.sort_unstable();
        all.dedup();
        let ord = |x: &str, y: &str| compare(eco, x, y).unwrap();
        all.sort_by(|x, y| ord(x, y));
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(ord(x, y), Ordering::Greater, "{eco}: sorted {x} before {y}");
                assert_eq!(ord(x, y), ord(y, x).reverse(), "{eco}: {x} vs {y}");
            }
        }
        // Versions that compare equal must be interchangeable everywhere.
        for x in &all {
            for y in &all {
                if ord(x, y) == Ordering::Equal {
                    for z in &all {
                        assert_eq!(ord(x, z), ord(y, z), "{eco}: {x} == {y} but differ on {z}");
                    }
                }
            }
        }
    }

    /// Checks that each input is rejected, and that the error names it.
    pub fn assert_invalid(eco: Ecosystem, inputs: &[&str], valid: &str) {
        for bad in inputs {
            let err = compare(eco, bad, valid).expect_err(bad);
            assert_eq!(err.ecosystem, eco);
            assert_eq!(err.input, *bad);
            assert!(err.to_string().contains(eco.name()), "{err}");
            let err = compare(eco, valid, bad).expect_err(bad);
            assert_eq!(err.input, *bad);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_from_osv_names() {
        let cases = [
            ("Debian", Ecosystem::Dpkg),
            ("Debian:12", Ecosystem::Dpkg),
            ("Ubuntu:22.04:LTS", Ecosystem::Dpkg),
            ("Alpine", Ecosystem::Apk),
            ("Alpine:v3.19", Ecosystem::Apk),
            ("Red Hat", Ecosystem::Rpm),
            ("Rocky Linux:9", Ecosystem::Rpm),
            ("AlmaLinux", Ecosystem::Rpm),
            ("npm", Ecosystem::Semver),
            ("crates.io", Ecosystem::Semver),
            ("Go", Ecosystem::Go),
            ("PyPI", Ecosystem::Pypi),
            ("RubyGems", Ecosystem::RubyGems),
            ("NuGet", Ecosystem::NuGet),
            ("Maven", Ecosystem::Maven),
            ("maven", Ecosystem::Maven),
            ("Packagist", Ecosystem::Composer),
            ("packagist", Ecosystem::Composer),
            ("composer", Ecosystem::Composer),
        ];
        for (name, eco) in cases {
            assert_eq!(name.parse::<Ecosystem>(), Ok(eco), "{name}");
        }
        let err = "Hackage".parse::<Ecosystem>().unwrap_err();
        assert!(err.to_string().contains("Hackage"));
    }

    #[test]
    fn error_message_names_ecosystem_and_input() {
        let err = compare(Ecosystem::Semver, "1.0", "1.0.0").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("semver") && msg.contains("\"1.0\""), "{msg}");
    }

    #[test]
    fn cmp_digits_is_numeric() {
        assert_eq!(cmp_digits("010", "9"), Ordering::Greater);
        assert_eq!(cmp_digits("000", ""), Ordering::Equal);
        assert_eq!(
            cmp_digits("99999999999999999999999", "100000000000000000000000"),
            Ordering::Less
        );
    }
}
