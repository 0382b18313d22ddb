//! Vulnerability database for Kubescape.
//!
//! For now this holds only [`version`]: ordering of package versions per
//! ecosystem, which every range match against the database depends on.

pub mod version;
