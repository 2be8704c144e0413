//! TLS trust (issue 12 item 9): a server whose certificate comes from a private CA is refused
//! until that CA is trusted with `--ca-cert` (or `SSL_CERT_FILE`). The CA and the server
//! certificate are generated per test; the server speaks TLS on loopback.

use std::sync::Arc;

use gotrue_sync::gotrue::{GotrueError, Transport, TransportOptions, UserClient};
use gotrue_sync::secret::Redactor;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{crypto::ring, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A CA (its PEM) and a TLS server on 127.0.0.1 whose certificate it signed, for
/// `localhost`. The server answers every request with an empty user listing.
struct TlsServer {
    port: u16,
    ca_pem: String,
}

async fn tls_server() -> TlsServer {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gotrue-sync test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf");
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A refused handshake is what some tests expect; nothing to answer then.
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = r#"{"aud":"","users":[],"name":"GoTrue","version":"tls"}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-total-count: 0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    TlsServer {
        port,
        ca_pem: ca.pem(),
    }
}

fn client(url: &str, ca_certs: Vec<std::path::PathBuf>) -> UserClient {
    let options = TransportOptions {
        ca_certs,
        ..TransportOptions::default()
    };
    UserClient::with_transport(Transport::new(url, options, Redactor::new()).expect("transport"))
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused() {
    let server = tls_server().await;
    let url = format!("https://localhost:{}", server.port);
    let error = client(&url, Vec::new())
        .health()
        .await
        .expect_err("an unknown CA is not trusted");
    assert!(matches!(error, GotrueError::Transport { .. }), "{error}");
    assert!(error.to_string().contains("certificate"), "{error}");
}

#[tokio::test]
async fn ca_cert_makes_a_private_ca_trusted() {
    let server = tls_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &server.ca_pem).expect("write CA");
    let url = format!("https://localhost:{}", server.port);
    let health = client(&url, vec![ca_file])
        .health()
        .await
        .expect("trusted through --ca-cert");
    assert_eq!(health["version"], "tls");
}

#[test]
fn a_ca_cert_that_is_not_pem_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let bogus = dir.path().join("ca.pem");
    std::fs::write(&bogus, "not a certificate").expect("write");
    let options = TransportOptions {
        ca_certs: vec![bogus],
        ..TransportOptions::default()
    };
    let error =
        Transport::new("https://localhost:1", options, Redactor::new()).expect_err("refused");
    assert!(error.to_string().contains("ca.pem"), "{error}");
}

/// Through the binary: refused without the CA, trusted with `--ca-cert`, and with
/// `SSL_CERT_FILE` (read by the platform trust store loader).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_trusts_ca_cert_and_ssl_cert_file() {
    let server = tls_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &server.ca_pem).expect("write CA");
    let manifest = dir.path().join("users.yaml");
    std::fs::write(&manifest, "version: 1\nname: tls\nusers: []\n").expect("manifest");
    let url = format!("https://localhost:{}", server.port);
    let plan = |extra: &[&str], ssl_cert_file: Option<&std::path::Path>| {
        let mut command = crate::support::binary::gotrue_sync();
        command
            .args(["plan", "-f"])
            .arg(&manifest)
            .args(["--url", &url])
            .args(extra)
            .env("GOTRUE_ADMIN_TOKEN", "tls-test-token")
            .env("GOTRUE_FLAVOR", "netlify");
        if let Some(file) = ssl_cert_file {
            command.env("SSL_CERT_FILE", file);
        }
        command.output().expect("run")
    };
    // The binary blocks this worker; the server runs on the other one.
    let refused = plan(&[], None);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
    let ca = ca_file.to_str().expect("utf-8 path");
    let trusted = plan(&["--ca-cert", ca], None);
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let from_env = plan(&[], Some(&ca_file));
    assert_eq!(
        from_env.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );
}
