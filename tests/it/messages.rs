//! What a new user sees when something is off, through the real binary: exit statuses and
//! messages that name what was attempted and the next step. Snapshots, with the random
//! parts (server address, temporary directory) replaced.

use std::process::Output;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MANIFEST: &str = "version: 1\nname: site\nusers:\n  - email: alice@example.com\n";

struct Run {
    dir: tempfile::TempDir,
    url: String,
}

impl Run {
    fn new(url: &str) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("users.yaml"), MANIFEST).expect("manifest");
        Run {
            dir,
            url: url.to_owned(),
        }
    }

    /// The binary in the temporary directory, with a clean environment.
    fn command(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut command = crate::support::binary::gotrue_sync();
        command
            .current_dir(self.dir.path())
            .envs(env.iter().copied())
            .args(args);
        command.output().expect("run")
    }

    /// Exit status and stderr, with the server address replaced by `URL`.
    fn transcript(&self, output: &Output) -> String {
        let stderr = String::from_utf8_lossy(&output.stderr).replace(&self.url, "URL");
        format!("exit {:?}\n{stderr}", output.status.code())
    }
}

async fn server_answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/admin/users"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

fn plan_against(run: &Run, credentials: &[(&str, &str)], extra: &[&str]) -> String {
    // The flavour is named, so the first request is the listing these messages are about
    // rather than the detection of the flavour.
    let mut env = vec![
        ("GOTRUE_URL", run.url.as_str()),
        ("GOTRUE_FLAVOR", "netlify"),
    ];
    env.extend_from_slice(credentials);
    let mut args = vec!["plan", "users.yaml", "--retries", "0"];
    args.extend_from_slice(extra);
    run.transcript(&run.command(&env, &args))
}

#[test]
fn usage_errors_exit_1_and_help_and_version_exit_0() {
    let run = Run::new("http://unused");
    let typo = run.command(&[], &["plan", "--detailed-exitcod"]);
    assert_eq!(typo.status.code(), Some(1), "a typo is not 'changes'");
    let missing_url = run.command(&[], &["plan", "users.yaml"]);
    assert_eq!(missing_url.status.code(), Some(1));
    assert_eq!(run.command(&[], &["--help"]).status.code(), Some(0));
    assert_eq!(run.command(&[], &["plan", "--help"]).status.code(), Some(0));
    let version = run.command(&[], &["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("gotrue-sync "));
}

#[test]
fn a_url_without_a_scheme_says_to_add_it() {
    let run = Run::new("http://unused");
    let output = run.command(
        &[("GOTRUE_ADMIN_TOKEN", "t")],
        &["plan", "users.yaml", "--url", "127.0.0.1:19301"],
    );
    insta::assert_snapshot!(run.transcript(&output), @r"
    exit Some(1)
    error: invalid value '127.0.0.1:19301' for '--url <URL>': `127.0.0.1:19301` has no scheme: write http://127.0.0.1:19301 (or https://127.0.0.1:19301)

    For more information, try '--help'.
    ");
}

#[test]
fn an_empty_gotrue_url_says_what_a_fork_gets() {
    let run = Run::new("http://unused");
    let output = run.command(
        &[("GOTRUE_URL", ""), ("GOTRUE_ADMIN_TOKEN", "t")],
        &["plan", "users.yaml"],
    );
    insta::assert_snapshot!(run.transcript(&output), @r"
    exit Some(1)
    error: invalid value '' for '--url <URL>': the URL is empty. If it comes from GOTRUE_URL: a pull request from a fork gets no secrets; set GOTRUE_URL (and the credentials) for this job, or skip the job when they are empty

    For more information, try '--help'.
    ");
}

#[test]
fn connection_refused_names_the_url_even_with_quiet() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("port")
        .port();
    let run = Run::new(&format!("http://127.0.0.1:{port}"));
    let transcript = plan_against(&run, &[("GOTRUE_ADMIN_TOKEN", "t")], &["-q"]);
    insta::assert_snapshot!(transcript, @r"
    exit Some(1)
    error: GET /admin/users: cannot connect: client error (Connect): tcp connect error: Connection refused (os error 111)
      hint: nothing accepts connections at URL: is the server running, and is --url (GOTRUE_URL) right?
    ");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_page_instead_of_the_api_points_at_the_netlify_path() {
    let server = server_answering(
        ResponseTemplate::new(200).set_body_raw("<!doctype html><html></html>", "text/html"),
    )
    .await;
    let run = Run::new(&server.uri());
    let transcript = plan_against(&run, &[("GOTRUE_ADMIN_TOKEN", "t")], &["-q"]);
    assert!(
        transcript.starts_with("exit Some(1)\nerror: GET /admin/users"),
        "{transcript}"
    );
    assert!(
        transcript.contains("  hint: URL answered with something other than the GoTrue API (a web page?); for Netlify Identity, the API lives under https://YOUR-SITE/.netlify/identity"),
        "{transcript}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_404_says_to_check_the_url() {
    let server = MockServer::start().await;
    let run = Run::new(&server.uri());
    let transcript = plan_against(&run, &[("GOTRUE_ADMIN_TOKEN", "t")], &["-q"]);
    insta::assert_snapshot!(transcript, @r"
    exit Some(1)
    error: GET /admin/users: server answered 404: (empty body)
      hint: URL has no GoTrue API at this path: check --url; for Netlify Identity, the API lives under https://YOUR-SITE/.netlify/identity
    ");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_credential_is_named_and_the_winner_of_several_is_announced() {
    let server = server_answering(
        ResponseTemplate::new(401).set_body_json(json!({"code": 401, "msg": "Invalid token"})),
    )
    .await;
    let run = Run::new(&server.uri());
    let transcript = plan_against(
        &run,
        &[
            ("GOTRUE_ADMIN_TOKEN", "wrong"),
            ("GOTRUE_JWT_SECRET", "right"),
        ],
        &["-q"],
    );
    insta::assert_snapshot!(transcript, @r"
    exit Some(1)
    warning: several admin credentials are set; using GOTRUE_ADMIN_TOKEN, ignoring GOTRUE_JWT_SECRET
    error: GET /admin/users: server answered 401: Invalid token. netlify/gotrue refused the admin credential: use the operator token or an admin JWT (GOTRUE_ADMIN_TOKEN), the instance's GOTRUE_JWT_SECRET, or a user whose role is the admin group
      hint: the server refused the admin credential from GOTRUE_ADMIN_TOKEN: check that it belongs to URL
    ");
}

#[test]
fn a_manifest_where_a_plan_is_expected_suggests_f_and_the_reverse_suggests_apply() {
    let run = Run::new("http://127.0.0.1:9");
    let env = [
        ("GOTRUE_URL", "http://127.0.0.1:9"),
        ("GOTRUE_ADMIN_TOKEN", "t"),
    ];
    let output = run.command(&env, &["apply", "users.yaml"]);
    insta::assert_snapshot!(run.transcript(&output), @r"
    exit Some(1)
    error: cannot use the plan file users.yaml: not a plan file: expected value at line 1 column 1
      hint: apply takes a plan saved with `plan --out`; to plan and apply a manifest in one go, use -f: gotrue-sync apply -f users.yaml
    ");

    std::fs::write(run.dir.path().join("plan.json"), "{\"format_version\": 2}").expect("plan");
    let output = run.command(&env, &["plan", "-f", "plan.json"]);
    insta::assert_snapshot!(run.transcript(&output), @r"
    exit Some(1)
    error: plan.json is a saved plan, not a manifest: apply it with `gotrue-sync apply plan.json`, or read it with `gotrue-sync show plan.json`
    ");
}

#[test]
fn validate_reports_for_machines_too() {
    let run = Run::new("http://unused");
    std::fs::write(
        run.dir.path().join("bad.yaml"),
        "version: 1\nname: site\nusers:\n  - email: [a\n",
    )
    .expect("bad");
    let github = run.command(&[], &["validate", "bad.yaml", "--format", "github"]);
    assert_eq!(github.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&github.stdout), @"::error file=bad.yaml,line=4,col=12::invalid YAML: unclosed bracket '['%0Ahelp: fix the YAML syntax at this place");

    let json = run.command(&[], &["validate", "--format", "json", "users.yaml"]);
    assert_eq!(json.status.code(), Some(0));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(document["valid"], true);
    assert_eq!(document["users"], 1);
}

#[test]
fn flags_have_an_environment_form() {
    let run = Run::new("http://unused");
    let output = run.command(
        &[
            ("GOTRUE_SYNC_VALIDATE_FORMAT", "json"),
            ("GOTRUE_SYNC_FILE", "users.yaml"),
        ],
        &["validate"],
    );
    assert_eq!(output.status.code(), Some(0));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(document["valid"], true);
}

#[test]
fn version_completions_and_the_man_page_are_generated() {
    let run = Run::new("http://unused");
    let version = run.command(&[], &["version", "--json"]);
    let document: serde_json::Value = serde_json::from_slice(&version.stdout).expect("json");
    assert_eq!(document["version"], env!("CARGO_PKG_VERSION"));
    assert!(document["commit"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(document["target"].as_str().is_some_and(|t| t.contains('-')));

    let bash = run.command(&[], &["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&bash.stdout).contains("--detailed-exitcode"));

    let man = run.command(&[], &["man"]);
    assert_eq!(man.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH gotrue-sync 1"));
}

#[test]
fn the_demo_works_outside_the_repository() {
    let run = Run::new("http://unused");
    let output = run.command(&[], &["demo"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("demo: CI_BOT_PASSWORD is not set; using a throwaway value"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("No changes."));
}
