# The `kubescape` binary in a small runtime image. One image serves every role of the Helm chart
# (charts/kubescape-operator): `serve storage`, `serve kubescape`, `http-request`.
#
#   docker build -t kubescape-rs/kubescape:0.1.0 .

# --- build -----------------------------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p kubescape-cli \
 && install -D -m 0755 target/release/kubescape /out/kubescape

# --- runtime ---------------------------------------------------------------------------------
# debian-slim rather than distroless/static: the binary links glibc dynamically.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data /results \
 && chown 65532:65532 /data /results
COPY --from=build /out/kubescape /usr/local/bin/kubescape
# Non-root; the chart runs every container with this UID and a read-only root filesystem.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/kubescape"]
CMD ["--help"]
