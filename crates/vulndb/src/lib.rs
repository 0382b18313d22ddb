//! Vulnerability database for Kubescape: records from OSV, Alpine secdb and the Debian security
//! tracker ([`import`]), stored atomically on disk and matched against installed packages
//! ([`db`]), with ordering of package versions per ecosystem ([`version`]).

pub mod advisory;
pub mod db;
pub mod import;
pub mod severity;
pub mod version;

pub use advisory::Advisory;
pub use db::{Database, DbError, Finding, Package};
