// include_dir! does not tell cargo which files it embedded, so without this an edited rule or
// control would keep the stale copy in incremental builds. Cargo scans a directory given here
// recursively for changes.
fn main() {
    println!("cargo:rerun-if-changed=library");
}
