//! The parts of distribution that can run here: install.sh's checksum verification against a
//! release laid out on disk, and the GitHub Action's shell scripts against a stub `gh` that
//! records its calls and keeps comments and issues in files (no network).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gotrue_emulator::{Emulator, EmulatorConfig};
use sha2::{Digest, Sha256};

const TARGET: &str = "x86_64-unknown-linux-musl";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A release directory as the release workflow lays it out: the archive and SHA256SUMS.
/// Returns the directory and the archive's SHA-256.
fn fake_release(dir: &Path) -> (PathBuf, String) {
    let release = dir.join("release");
    let staging = dir.join("staging").join(format!("gotrue-sync-{TARGET}"));
    std::fs::create_dir_all(&release).expect("mkdir");
    std::fs::create_dir_all(&staging).expect("mkdir");
    std::fs::write(
        staging.join("gotrue-sync"),
        "#!/bin/sh\necho fake gotrue-sync\n",
    )
    .expect("write");
    let archive = release.join(format!("gotrue-sync-{TARGET}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.join("staging"))
        .arg(format!("gotrue-sync-{TARGET}"))
        .status()
        .expect("tar runs");
    assert!(status.success());
    let hash = format!(
        "{:x}",
        Sha256::digest(std::fs::read(&archive).expect("archive"))
    );
    (release, hash)
}

fn install(release: &Path, to: &Path) -> Output {
    Command::new("sh")
        .arg(root().join("install.sh"))
        .args(["--target", TARGET, "--version", "v9.9.9", "--to"])
        .arg(to)
        .env(
            "GOTRUE_SYNC_DOWNLOAD_URL",
            format!("file://{}", release.display()),
        )
        .output()
        .expect("sh runs")
}

#[test]
fn install_sh_installs_an_archive_whose_checksum_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (release, hash) = fake_release(dir.path());
    std::fs::write(
        release.join("SHA256SUMS"),
        format!(
            "{}  other.tar.gz\n{hash}  gotrue-sync-{TARGET}.tar.gz\n",
            "0".repeat(64)
        ),
    )
    .expect("write");
    let bin = dir.path().join("bin");
    let output = install(&release, &bin);
    assert!(output.status.success(), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("sha256 verified"));
    let installed = bin.join("gotrue-sync");
    assert_eq!(
        std::fs::read_to_string(&installed).expect("installed"),
        "#!/bin/sh\necho fake gotrue-sync\n"
    );
    let run = Command::new(&installed).output().expect("runs");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "fake gotrue-sync\n");
}

#[test]
fn install_sh_refuses_an_archive_whose_checksum_differs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (release, hash) = fake_release(dir.path());
    // One flipped digit: the archive was tampered with or corrupted on the way.
    let wrong: String = hash
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == '0' {
                    '1'
                } else {
                    '0'
                }
            } else {
                c
            }
        })
        .collect();
    std::fs::write(
        release.join("SHA256SUMS"),
        format!("{wrong}  gotrue-sync-{TARGET}.tar.gz\n"),
    )
    .expect("write");
    let bin = dir.path().join("bin");
    let output = install(&release, &bin);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    assert!(
        stderr.contains(&hash) && stderr.contains(&wrong),
        "{stderr}"
    );
    assert!(!bin.join("gotrue-sync").exists(), "installed anyway");
}

#[test]
fn install_sh_refuses_an_archive_missing_from_the_checksums() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (release, hash) = fake_release(dir.path());
    std::fs::write(
        release.join("SHA256SUMS"),
        format!("{hash}  gotrue-sync-aarch64-apple-darwin.tar.gz\n"),
    )
    .expect("write");
    let bin = dir.path().join("bin");
    let output = install(&release, &bin);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no entry"));
    assert!(!bin.join("gotrue-sync").exists());
}

/// A stub `gh` on PATH: records each call's arguments in `calls`, serves the comments or
/// issues kept as files in `items/` (one file per id, the body) to `--paginate` listings,
/// and creates (`POST`) or replaces (`PATCH`) them. With jq installed the action's own
/// `--jq` filter is applied to a JSON array of the items, as gh would; without it, the
/// stub prints what that filter prints (`ID<TAB>first line of the body`).
struct StubGh {
    dir: tempfile::TempDir,
}

const STUB_GH: &str = r#"#!/usr/bin/env bash
set -euo pipefail
state="$STUB_GH_STATE"
mkdir -p "$state/items"
printf '%s\n' "$*" >>"$state/calls"
method=GET path="" body="" body_file="" jq_filter="" closed=""
while [ $# -gt 0 ]; do
  case "$1" in
    --method) method="$2"; shift ;;
    --jq) jq_filter="$2"; shift ;;
    -F | -f)
      case "$2" in
        body=@*) body_file="${2#body=@}" ;;
        body=*) body="${2#body=}" ;;
        state=closed) closed=yes ;;
      esac
      shift ;;
    repos/*) path="$1" ;;
  esac
  shift
done
if [ -n "$body_file" ]; then body="$(cat "$body_file"; printf x)"; body="${body%x}"; fi
ids() { find "$state/items" -type f -printf '%f\n' | sort -n; }
case "$method" in
  GET)
    if command -v jq >/dev/null 2>&1; then
      for id in $(ids); do
        jq -Rs --argjson id "$id" '{id: $id, number: $id, body: .}' <"$state/items/$id"
      done | jq -s . | jq -r "$jq_filter"
    else
      for id in $(ids); do printf '%s\t%s\n' "$id" "$(head -n 1 "$state/items/$id")"; done
    fi ;;
  POST)
    if [[ "$path" =~ /issues/[0-9]+/comments$ ]] && [ -n "${STUB_GH_ISSUES:-}" ]; then
      printf '%s\n' "$body" >>"$state/issue-comments"
    else
      id=$(( $(ids | wc -l) + 101 ))
      printf '%s' "$body" >"$state/items/$id"
    fi ;;
  PATCH)
    id="${path##*/}"
    if [ -n "$closed" ]; then rm -f "$state/items/$id"; printf '%s\n' "$id" >>"$state/closed"
    else printf '%s' "$body" >"$state/items/$id"; fi ;;
esac
"#;

impl StubGh {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("bin")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("state/items")).expect("mkdir");
        let gh = dir.path().join("bin/gh");
        std::fs::write(&gh, STUB_GH).expect("write");
        make_executable(&gh);
        StubGh { dir }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// PATH with the stub first, and optionally another directory before the system's.
    fn path(&self, also: Option<&Path>) -> String {
        let mut parts = vec![self.dir.path().join("bin").display().to_string()];
        if let Some(also) = also {
            parts.push(also.display().to_string());
        }
        parts.push(std::env::var("PATH").unwrap_or_default());
        parts.join(":")
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.state().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Each stored item's id and body, by id.
    fn items(&self) -> Vec<(u64, String)> {
        let mut items: Vec<(u64, String)> = std::fs::read_dir(self.state().join("items"))
            .expect("items")
            .flatten()
            .map(|entry| {
                let id = entry.file_name().to_string_lossy().parse().expect("id");
                (id, std::fs::read_to_string(entry.path()).expect("body"))
            })
            .collect();
        items.sort();
        items
    }

    fn script(&self, script: &str) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(root().join("action").join(script))
            .env("PATH", self.path(None))
            .env("STUB_GH_STATE", self.state())
            .env("GITHUB_REPOSITORY", "acme/site")
            .env("GOTRUE_SYNC_PR", "7");
        command
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write");
    path
}

#[test]
fn comment_sh_creates_then_updates_one_comment_per_manifest_name() {
    let gh = StubGh::new();
    // Someone else's comment is left alone.
    std::fs::write(gh.state().join("items/1"), "LGTM").expect("write");
    let work = tempfile::tempdir().expect("tempdir");
    let first = write(work.path(), "first.md", "plan one of site-a\n");
    let second = write(work.path(), "second.md", "plan two of site-a\n");
    let other = write(work.path(), "other.md", "plan of site-b\n");

    let run = |name: &str, body: &Path| {
        let output = gh
            .script("comment.sh")
            .arg(name)
            .arg(body)
            .output()
            .expect("runs");
        assert!(output.status.success(), "{}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(run("site-a", &first).contains("created"));
    assert!(run("site-b", &other).contains("created"));
    assert!(run("site-a", &second).contains("updated"));

    let items = gh.items();
    assert_eq!(
        items,
        vec![
            (1, "LGTM".to_owned()),
            (
                102,
                "<!-- gotrue-sync:plan:site-a -->\nplan two of site-a\n".to_owned()
            ),
            (
                103,
                "<!-- gotrue-sync:plan:site-b -->\nplan of site-b\n".to_owned()
            ),
        ]
    );
    let calls = gh.calls();
    let writes: Vec<&String> = calls.iter().filter(|c| c.contains("--method")).collect();
    assert_eq!(writes.len(), 3, "{calls:#?}");
    assert!(writes[0].starts_with("api --method POST repos/acme/site/issues/7/comments"));
    assert!(writes[1].starts_with("api --method POST repos/acme/site/issues/7/comments"));
    assert!(writes[2].starts_with("api --method PATCH repos/acme/site/issues/comments/102"));
    assert!(calls
        .iter()
        .any(|c| c.starts_with("api --paginate repos/acme/site/issues/7/comments")));
}

#[test]
fn comment_sh_does_not_take_a_comment_that_only_quotes_the_marker() {
    let gh = StubGh::new();
    std::fs::write(
        gh.state().join("items/5"),
        "Why does the bot write <!-- gotrue-sync:plan:site-a --> first?",
    )
    .expect("write");
    let work = tempfile::tempdir().expect("tempdir");
    let body = write(work.path(), "plan.md", "the plan\n");
    let output = gh
        .script("comment.sh")
        .arg("site-a")
        .arg(&body)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", text(&output));
    let items = gh.items();
    assert_eq!(items.len(), 2);
    assert!(items[0].1.starts_with("Why does"));
}

#[test]
fn drift_issue_sh_opens_updates_and_closes_one_issue_per_manifest() {
    let gh = StubGh::new();
    let work = tempfile::tempdir().expect("tempdir");
    let first = write(work.path(), "d1.md", "1 to update\n");
    let second = write(work.path(), "d2.md", "2 to update\n");
    let run = |args: &[&std::ffi::OsStr]| {
        let output = gh
            .script("drift-issue.sh")
            .env("STUB_GH_ISSUES", "1")
            .args(args)
            .output()
            .expect("runs");
        assert!(output.status.success(), "{}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(run(&["site-a".as_ref(), first.as_os_str()]).contains("opened"));
    assert!(run(&["site-a".as_ref(), second.as_os_str()]).contains("updated drift issue #101"));
    assert_eq!(
        gh.items(),
        vec![(
            101,
            "<!-- gotrue-sync:drift:site-a -->\n2 to update\n".to_owned()
        )]
    );
    assert!(run(&["site-a".as_ref(), "--resolved".as_ref()]).contains("closed drift issue #101"));
    assert!(gh.items().is_empty());
    assert!(run(&["site-a".as_ref(), "--resolved".as_ref()]).contains("no open drift issue"));
    let calls = gh.calls();
    assert!(calls
        .iter()
        .any(|c| c.starts_with("api --method POST repos/acme/site/issues -f title=")));
    assert!(calls
        .iter()
        .any(|c| c == "api --method PATCH repos/acme/site/issues/101 -f state=closed"));
}

/// The action's run step end to end: the real binary against the emulator, two manifests,
/// a stub `gh`. Each manifest gets its artifact folder, its section of the step summary and
/// one comment, updated in place on the second run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_run_sh_plans_each_manifest_and_keeps_one_comment_each() {
    let emulator = Emulator::start(EmulatorConfig {
        port: 0,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts");
    let gh = StubGh::new();
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(work.path().join("identity/a")).expect("mkdir");
    write(
        &work.path().join("identity/a"),
        "users.yaml",
        "version: 1\nname: site-a\nusers:\n  - email: alice@example.com\n",
    );
    write(
        work.path(),
        "b.yaml",
        "version: 1\nname: site-b\nusers: []\n",
    );
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_gotrue-sync"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let out = work.path().join("out");
    let summary = work.path().join("summary.md");
    let outputs = work.path().join("outputs");
    let url = emulator.url();
    let token = emulator.config().operator_token.clone();
    let run = || {
        let output = gh
            .script("run.sh")
            .current_dir(work.path())
            .env("PATH", gh.path(Some(&bin_dir)))
            .env("INPUT_COMMAND", "plan")
            .env(
                "INPUT_MANIFESTS",
                "identity/a\n\nb.yaml  # the second site\n",
            )
            .env("INPUT_URL", &url)
            .env("GOTRUE_ADMIN_TOKEN", &token)
            .env("GOTRUE_SYNC_OUT_DIR", &out)
            .env(
                "GOTRUE_SYNC_RUN_URL",
                "https://github.example/acme/site/actions/runs/1",
            )
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .env("NO_COLOR", "1")
            .output()
            .expect("runs");
        assert!(output.status.success(), "{}", text(&output));
    };
    // Blocking here is fine: the emulator runs on the runtime's worker threads.
    run();
    run();

    for name in ["site-a", "site-b"] {
        let plan: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(name).join("plan.json")).expect("plan.json"),
        )
        .expect("json");
        assert_eq!(plan["manifest"], name);
        assert!(out.join(name).join("plan.md").exists());
    }
    let summary = std::fs::read_to_string(&summary).expect("summary");
    assert_eq!(
        summary
            .matches("### gotrue-sync plan for `site-a` on `127.0.0.1`")
            .count(),
        2
    );
    assert_eq!(
        summary.matches("### gotrue-sync plan for `site-b`").count(),
        2
    );
    assert!(!summary.contains(&token));
    let outputs = std::fs::read_to_string(&outputs).expect("outputs");
    assert!(outputs.contains("changes=true\n"), "{outputs}");
    assert!(outputs.contains("manifests=site-a site-b\n"), "{outputs}");

    let items = gh.items();
    assert_eq!(items.len(), 2, "{items:#?}");
    assert!(items[0]
        .1
        .starts_with("<!-- gotrue-sync:plan:site-a -->\n### gotrue-sync plan"));
    assert!(items[0].1.contains("+ invite \"alice@example.com\""));
    assert!(items[0]
        .1
        .contains("[this run](https://github.example/acme/site/actions/runs/1)"));
    assert!(items[1].1.starts_with("<!-- gotrue-sync:plan:site-b -->\n"));
    assert!(items[1].1.contains("**No changes.**"));
    let patches = gh
        .calls()
        .iter()
        .filter(|c| c.contains("--method PATCH"))
        .count();
    assert_eq!(patches, 2, "the second run edits both comments in place");
}

/// A linter found on PATH (or where `go install` puts it), if any: the recipe tests use it
/// when present and fall back to parsing and structural checks, so they never depend on it.
fn linter(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join("go/bin"));
    }
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

fn lint_with(tool: &Path, args: &[&str], files: &[PathBuf]) {
    let output = Command::new(tool)
        .args(args)
        .args(files)
        .current_dir(root())
        .output()
        .expect("linter runs");
    assert!(
        output.status.success(),
        "{} found problems:\n{}",
        tool.display(),
        text(&output)
    );
}

fn yaml(path: &Path) -> serde_json::Value {
    let source = std::fs::read_to_string(root().join(path)).expect("read");
    serde_saphyr::from_str(&source)
        .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()))
}

fn files_in(dir: &str, extensions: &[&str]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("dir")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .map(|path| path.strip_prefix(root()).expect("under root").to_path_buf())
        .collect();
    files.sort();
    files
}

fn workflows() -> Vec<PathBuf> {
    let mut files = files_in(".github/workflows", &["yml", "yaml"]);
    files.extend(files_in("examples/ci/github", &["yml", "yaml"]));
    files
}

#[test]
fn github_workflows_and_recipes_lint_clean() {
    let files = workflows();
    assert!(files.len() >= 4, "{files:?}");
    for file in &files {
        let workflow = yaml(file);
        let jobs = workflow["jobs"]
            .as_object()
            .unwrap_or_else(|| panic!("{} has no jobs", file.display()));
        assert!(
            workflow.get("on").is_some() || workflow.get("true").is_some(),
            "{} has no triggers",
            file.display()
        );
        for (name, job) in jobs {
            assert!(
                job.get("runs-on").is_some(),
                "{}: job {name} has no runs-on",
                file.display()
            );
            assert!(
                job["steps"].as_array().is_some_and(|s| !s.is_empty()),
                "{}: job {name} has no steps",
                file.display()
            );
        }
    }
    match linter("actionlint") {
        Some(actionlint) => lint_with(&actionlint, &["-no-color"], &files),
        None => eprintln!("actionlint is not installed: checked by YAML parse and structure only"),
    }
    if let Some(checker) = linter("check-jsonschema") {
        lint_with(
            &checker,
            &["--builtin-schema", "vendor.github-workflows"],
            &files,
        );
    }
}

#[test]
fn no_recipe_compiles_gotrue_sync_in_ci() {
    let mut files = workflows();
    files.push(PathBuf::from("examples/ci/gitlab/.gitlab-ci.yml"));
    for file in files {
        let source = std::fs::read_to_string(root().join(&file)).expect("read");
        // Installing a tool (cargo-fuzz) is fine; compiling the product in a job is not.
        let compiles_the_product = source.lines().any(|line| {
            line.contains("cargo install")
                && (line.contains("gotrue-sync") || line.contains("--path"))
        });
        assert!(
            !compiles_the_product,
            "{} compiles gotrue-sync in every job",
            file.display()
        );
    }
}

/// GitHub cancels a pending run in a concurrency group when a newer one queues: the apply
/// job must have a group of its own that no other job (or the whole workflow) joins.
#[test]
fn github_recipe_gives_apply_a_concurrency_group_of_its_own() {
    let workflow = yaml(Path::new("examples/ci/github/gotrue-sync.yml"));
    assert!(
        workflow.get("concurrency").is_none(),
        "a workflow-level group would put plans and applies together"
    );
    let jobs = workflow["jobs"].as_object().expect("jobs");
    let group = |job: &serde_json::Value| job["concurrency"]["group"].as_str().map(str::to_owned);
    let apply = &jobs["apply"];
    let apply_group = group(apply).expect("apply has a concurrency group");
    assert_eq!(apply["concurrency"]["cancel-in-progress"], false);
    assert!(
        !apply_group.contains("${{"),
        "the apply group must not vary: {apply_group}"
    );
    for (name, job) in jobs.iter().filter(|(name, _)| *name != "apply") {
        let other = group(job).unwrap_or_else(|| panic!("job {name} has no concurrency group"));
        assert!(
            !other.starts_with(&apply_group),
            "job {name} joins the apply group"
        );
    }
    // The plan comment goes through the action, and apply applies the reviewed plans.
    let steps = |job: &str| jobs[job]["steps"].as_array().cloned().unwrap_or_default();
    assert!(steps("plan").iter().any(|s| s["with"]["command"] == "plan"));
    assert!(steps("apply")
        .iter()
        .any(|s| s["with"]["command"] == "apply"
            && s["with"]["plan-files"]
                .as_str()
                .is_some_and(|p| p.contains("steps.reviewed"))));
    assert!(steps("drift")
        .iter()
        .any(|s| s["with"]["command"] == "drift" && s["with"]["drift-issue"] == "true"));
}

#[test]
fn action_yml_is_a_composite_action_whose_scripts_exist() {
    let action = yaml(Path::new("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    for input in [
        "version",
        "command",
        "manifests",
        "url",
        "aud",
        "plan-files",
        "markdown-budget",
    ] {
        assert!(
            action["inputs"].get(input).is_some(),
            "input {input} is missing"
        );
    }
    let source = std::fs::read_to_string(root().join("action.yml")).expect("read");
    for step in action["runs"]["steps"].as_array().expect("steps") {
        if step.get("run").is_some() {
            assert!(
                step.get("shell").is_some(),
                "composite run steps need a shell: {step}"
            );
        }
    }
    for script in ["action/setup.sh", "action/run.sh", "install.sh"] {
        assert!(
            source.contains(&format!("$GITHUB_ACTION_PATH/{script}")),
            "{script} is not used"
        );
        let mode = std::fs::metadata(root().join(script))
            .expect("exists")
            .permissions();
        assert!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o111 != 0,
            "{script} is not executable"
        );
    }
    if let Some(checker) = linter("check-jsonschema") {
        lint_with(
            &checker,
            &["--builtin-schema", "vendor.github-actions"],
            &[PathBuf::from("action.yml")],
        );
    }
}

#[test]
fn gitlab_recipe_posts_a_note_keeps_the_plan_and_serialises_apply() {
    let file = PathBuf::from("examples/ci/gitlab/.gitlab-ci.yml");
    let pipeline = yaml(&file);
    assert!(pipeline["apply"]["resource_group"].as_str().is_some());
    let plan = pipeline["plan"]["script"].to_string();
    assert!(
        plan.contains("merge_requests/$CI_MERGE_REQUEST_IID/notes"),
        "{plan}"
    );
    assert!(plan.contains("<!-- gotrue-sync:plan:"), "{plan}");
    assert!(pipeline["plan"]["artifacts"]["paths"]
        .to_string()
        .contains("plan.json"));
    if let Some(checker) = linter("check-jsonschema") {
        lint_with(&checker, &["--builtin-schema", "vendor.gitlab-ci"], &[file]);
    }
}

#[test]
fn pre_commit_hooks_run_validate() {
    for file in [
        ".pre-commit-hooks.yaml",
        "examples/ci/pre-commit/.pre-commit-config.yaml",
    ] {
        yaml(Path::new(file));
    }
    let hooks = yaml(Path::new(".pre-commit-hooks.yaml"));
    let hooks = hooks.as_array().expect("a list of hooks");
    assert!(!hooks.is_empty());
    for hook in hooks {
        for key in ["id", "name", "entry", "language"] {
            assert!(hook[key].as_str().is_some(), "hook without {key}: {hook}");
        }
        assert!(hook["entry"]
            .as_str()
            .unwrap_or_default()
            .starts_with("gotrue-sync validate"));
    }
    let config = yaml(Path::new("examples/ci/pre-commit/.pre-commit-config.yaml"));
    let id = &config["repos"][0]["hooks"][0]["id"];
    assert!(
        hooks.iter().any(|h| &h["id"] == id),
        "the example uses an unknown hook {id}"
    );
}

#[test]
fn dockerfile_final_image_is_scratch_non_root_binary_and_certificates() {
    let source = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let stages: Vec<&str> = source.split("\nFROM ").collect();
    assert!(stages.len() >= 2, "not a multi-stage build");
    let last = stages.last().expect("a final stage");
    assert!(last.starts_with("scratch"), "final stage: {last}");
    let copies: Vec<&str> = last.lines().filter(|l| l.starts_with("COPY")).collect();
    assert_eq!(
        copies.len(),
        2,
        "only the binary and the CA certificates: {copies:?}"
    );
    assert!(copies.iter().any(|c| c.contains("ca-certificates.crt")));
    assert!(copies
        .iter()
        .any(|c| c.ends_with("/usr/local/bin/gotrue-sync")));
    let user = last
        .lines()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(
        !user.contains("root") && !user.starts_with("USER 0"),
        "{user}"
    );
    if let Some(hadolint) = linter("hadolint") {
        lint_with(&hadolint, &[], &[PathBuf::from("Dockerfile")]);
    }
}

#[test]
fn shell_scripts_pass_shellcheck_or_at_least_parse() {
    let mut scripts = vec![PathBuf::from("install.sh")];
    scripts.extend(files_in("action", &["sh"]));
    match linter("shellcheck") {
        Some(shellcheck) => lint_with(&shellcheck, &[], &scripts),
        None => {
            for script in &scripts {
                let shell = if script.starts_with("action") {
                    "bash"
                } else {
                    "sh"
                };
                let output = Command::new(shell)
                    .arg("-n")
                    .arg(root().join(script))
                    .output()
                    .expect("runs");
                assert!(
                    output.status.success(),
                    "{}: {}",
                    script.display(),
                    text(&output)
                );
            }
        }
    }
}

/// Through the binary: `plan --format markdown` keeps to `--markdown-budget`, names the
/// server's host, and pending invitations are a count and the oldest five (all with -v).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_keeps_to_the_markdown_budget_and_summarises_pending_invitations() {
    let emulator = crate::support::emulator::start(EmulatorConfig::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut pending = String::from("version: 1\nname: big\nusers:\n");
    for i in 0..12 {
        pending.push_str(&format!("  - email: pending-{i:02}@example.com\n"));
    }
    let pending_file = write(dir.path(), "pending.yaml", &pending);
    let applied = crate::support::emulator::binary(&emulator)
        .args(["apply", "--auto-approve", "-f"])
        .arg(&pending_file)
        .output()
        .expect("runs");
    assert!(applied.status.success(), "{}", text(&applied));

    let plan = |args: &[&str], file: &Path| {
        crate::support::emulator::binary(&emulator)
            .arg("plan")
            .args(args)
            .arg("-f")
            .arg(file)
            .output()
            .expect("runs")
    };
    let human = plan(&[], &pending_file);
    assert!(human.status.success(), "{}", text(&human));
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert!(
        stdout.contains("Invitations not yet accepted: 12 (the oldest 5; -v lists all)"),
        "{stdout}"
    );
    assert_eq!(stdout.matches(" invited (pending since ").count(), 5);
    let verbose = plan(&["-v"], &pending_file);
    assert_eq!(
        String::from_utf8_lossy(&verbose.stdout)
            .matches(" invited (pending since ")
            .count(),
        12
    );

    let mut big = pending.clone();
    for i in 0..400 {
        big.push_str(&format!(
            "  - email: new-{i:03}@example.com\n    roles: [editor]\n    user_metadata: {{ full_name: New {i} }}\n"
        ));
    }
    let big_file = write(dir.path(), "big.yaml", &big);
    let markdown = plan(
        &["--format", "markdown", "--markdown-budget", "8000"],
        &big_file,
    );
    assert!(markdown.status.success(), "{}", text(&markdown));
    let stdout = String::from_utf8_lossy(&markdown.stdout);
    assert!(stdout.len() <= 8000, "{} bytes", stdout.len());
    assert!(
        stdout.starts_with("### gotrue-sync plan for `big` on `127.0.0.1`\n"),
        "{stdout}"
    );
    assert!(stdout.contains("<details><summary>12 invitations not yet accepted</summary>"));
    let last = stdout.lines().last().expect("a last line");
    assert!(
        last.starts_with("**Shortened to fit 8000 bytes:**"),
        "{last}"
    );
    assert!(!stdout.contains(&emulator.config().operator_token));

    let too_small = plan(
        &["--format", "markdown", "--markdown-budget", "100"],
        &big_file,
    );
    // A usage error: 1, like every error (2 means "changes" only).
    assert_eq!(too_small.status.code(), Some(1), "{}", text(&too_small));
    assert!(String::from_utf8_lossy(&too_small.stderr).contains("--markdown-budget"));
}

/// A plan that fails (here an invalid manifest) still gets its one comment, saying so with
/// the log, under the manifest's name read from its file; the step fails.
#[test]
fn action_run_sh_comments_a_failed_plan_under_the_manifest_name() {
    let gh = StubGh::new();
    let work = tempfile::tempdir().expect("tempdir");
    write(
        work.path(),
        "site.yaml",
        "version: 1\nname: broken-site\nusers:\n  - email: alice@example.com\n    colour: blue\n",
    );
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_gotrue-sync"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let out = work.path().join("out");
    let output = gh
        .script("run.sh")
        .current_dir(work.path())
        .env("PATH", gh.path(Some(&bin_dir)))
        .env("INPUT_COMMAND", "plan")
        .env("INPUT_MANIFESTS", "site.yaml")
        .env("INPUT_URL", "http://127.0.0.1:9")
        .env("GOTRUE_ADMIN_TOKEN", "not-used-token")
        .env("GOTRUE_SYNC_OUT_DIR", &out)
        .env("NO_COLOR", "1")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let items = gh.items();
    assert_eq!(items.len(), 1, "{items:#?}");
    let body = &items[0].1;
    assert!(
        body.starts_with(
            "<!-- gotrue-sync:plan:broken-site -->\n### gotrue-sync plan for `broken-site` failed"
        ),
        "{body}"
    );
    assert!(body.contains("colour"), "the log names the problem: {body}");
    assert!(!body.contains("not-used-token"));
    assert!(out.join("broken-site/plan.log").exists());
}

/// setup.sh maps the runner to a release target and resolves `latest` to a tag (through
/// `gh`, stubbed), so the cache key names an exact version.
#[test]
fn action_setup_sh_picks_the_target_and_resolves_latest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        "#!/bin/sh\necho \"$*\" >>\"$(dirname \"$0\")/calls\"\necho v1.2.3\n",
    )
    .expect("write");
    make_executable(&gh);
    let setup = |os: &str, arch: &str, version: &str| {
        let outputs = dir.path().join(format!("outputs-{os}-{arch}-{version}"));
        let output = Command::new("bash")
            .arg(root().join("action/setup.sh"))
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("GOTRUE_SYNC_REPO", "acme/gotrue-sync")
            .env("INPUT_VERSION", version)
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TOOL_CACHE", "/opt/hostedtoolcache")
            .env("GITHUB_OUTPUT", &outputs)
            .output()
            .expect("runs");
        (
            output,
            std::fs::read_to_string(&outputs).unwrap_or_default(),
        )
    };
    let (output, outputs) = setup("Linux", "ARM64", "latest");
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        outputs,
        "version=v1.2.3\ntarget=aarch64-unknown-linux-musl\ndir=/opt/hostedtoolcache/gotrue-sync/v1.2.3/aarch64-unknown-linux-musl\n"
    );
    assert_eq!(
        std::fs::read_to_string(bin.join("calls")).expect("calls"),
        "api repos/acme/gotrue-sync/releases/latest --jq .tag_name\n"
    );
    let (output, outputs) = setup("macOS", "X64", "0.4.0");
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        outputs.starts_with("version=v0.4.0\ntarget=x86_64-apple-darwin\n"),
        "{outputs}"
    );
    let (output, outputs) = setup("Windows", "X64", "v0.4.0");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("Linux and macOS runners"));
    assert!(outputs.is_empty());
}
