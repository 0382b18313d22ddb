mod fixture;
use kubescape_report::*;
#[test]
fn dump() {
    let o = RenderOptions {
        verbose: true,
        color: false,
        line_of: Some(&fixture::line_of),
    };
    for (f, ext) in [
        (Format::Pretty, "txt"),
        (Format::Html, "html"),
        (Format::Sarif, "sarif"),
        (Format::Junit, "xml"),
        (Format::Prometheus, "prom"),
    ] {
        std::fs::write(
            format!("/tmp/dump.{ext}"),
            render(&fixture::report(), f, &o).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(
        "/tmp/dump-cluster.txt",
        render(&fixture::cluster_report(), Format::Pretty, &o).unwrap(),
    )
    .unwrap();
}
