# The `kubescape` binary in a small runtime image. One image serves every role of the Helm chart
# (charts/kubescape-operator): `serve storage|kubescape|kubevuln|operator`, `http-request`.
#
#   docker build -t kubescape-rs/kubescape:0.1.0 .

# --- build -----------------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p kubescape-cli \
 && install -D -m 0755 target/release/kubescape /out/kubescape

# --- runtime ---------------------------------------------------------------------------------
# distroless/cc rather than distroless/static: the binary links glibc, libm and libgcc_s
# dynamically (`ldd target/release/kubescape`), which distroless/cc carries, with CA certificates
# and no shell or package manager. Its `nonroot` tag runs as UID 65532; the chart mounts every
# writable path (/data, /results, /tmp) as a volume and keeps the root filesystem read-only.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/kubescape /usr/local/bin/kubescape
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kubescape"]
CMD ["--help"]
