# syntax=docker/dockerfile:1
# gotrue-sync as a container: a static musl binary on an empty base image, with only the
# binary, CA certificates and a non-root user. CI jobs use it instead of compiling:
#   docker run --rm -v "$PWD:/work" -w /work -e GOTRUE_URL -e GOTRUE_ADMIN_TOKEN \
#     ghcr.io/gotrue-sync/gotrue-sync plan -f identity/

# Alpine's Rust targets musl and links statically by default; the version is the crate's
# rust-version, so the image proves the MSRV builds.
FROM rust:1.89-alpine AS build
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
# ring (TLS) compiles C: musl-dev has the headers. Versions follow the pinned base image.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev ca-certificates
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target between builds without baking them into a layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin gotrue-sync \
 && cp target/release/gotrue-sync /gotrue-sync \
 && if ldd /gotrue-sync 2>/dev/null | grep -q '=>'; then echo "not static" >&2; exit 1; fi

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /gotrue-sync /usr/local/bin/gotrue-sync
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# An unprivileged uid/gid with no entry in /etc/passwd (there is none in scratch).
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/gotrue-sync"]
CMD ["--help"]
