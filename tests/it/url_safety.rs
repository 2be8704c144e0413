//! What `--url` may be (issue 12 items 7 and 8): no credentials in it (refused without
//! printing them), and no plain http:// to another host unless asked for.

fn plan(url: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("dir");
    let manifest = dir.path().join("users.yaml");
    std::fs::write(&manifest, "version: 1\nname: url\nusers: []\n").expect("manifest");
    crate::support::binary::gotrue_sync()
        .args(["plan", "-f"])
        .arg(&manifest)
        .args(["--url", url])
        .args(extra)
        .env("GOTRUE_ADMIN_TOKEN", "url-test-token")
        .output()
        .expect("run")
}

#[test]
fn a_url_with_credentials_is_refused_without_printing_them() {
    let output = plan("https://admin:Pa55-in-the-URL@gotrue.example/", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("contains credentials"), "{stderr}");
    assert!(!stderr.contains("Pa55-in-the-URL"), "{stderr}");
    assert!(!stderr.contains("admin:"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn credentials_without_a_scheme_are_refused_without_printing_them() {
    for url in [
        "admin:Pa55-no-scheme@gotrue.example",
        "ftp://admin:Pa55-no-scheme@host",
    ] {
        let output = plan(url, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("Pa55-no-scheme"), "{url}: {stderr}");
        assert!(stderr.contains("scheme"), "{url}: {stderr}");
    }
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
    let output = plan("http://gotrue.example.invalid:8081", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refusing plain http://"), "{stderr}");
    assert!(stderr.contains("--allow-insecure-http"), "{stderr}");
    // Allowed, it gets as far as the network (the .invalid name does not resolve).
    let allowed = plan(
        "http://gotrue.example.invalid:8081",
        &["--allow-insecure-http", "--retries", "0", "--timeout", "5s"],
    );
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    assert_eq!(allowed.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("refusing plain http://"), "{stderr}");
}
