//! The manifest pipeline as one function of bytes, for the fuzz target (`fuzz/`) and its
//! stable-toolchain runner in the test suite: validate → plan against a server listing →
//! every renderer, with the invariants the output must keep. Any panic is a bug, whether in
//! the code under test or an invariant broken.

use std::path::Path;

use serde_json::{json, Value};

use crate::export::export;
use crate::gotrue::{Flavor, RemoteUser};
use crate::manifest::{readers_agree, validate, Manifest};
use crate::plan::{plan_with, record_server_fingerprint, PlanOptions};
use crate::render::{
    escape_lines, export_yaml, plan_human, plan_json, plan_markdown, MarkdownOptions, Style,
    MIN_MARKDOWN_BUDGET,
};

/// How far an input went, so that a corpus can be checked to reach the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// Not UTF-8: refused before parsing, as the CLI does.
    NotText,
    /// Refused with this many diagnostics.
    Refused(usize),
    /// Valid, planned with this many changes and rendered.
    Planned(usize),
}

/// "Now" for the plan: a fixed instant, so a run depends on the input only.
const NOW: u64 = 1_790_000_000;

/// Runs `bytes` through the pipeline, as `validate` and `plan` would, and checks:
/// - the fast YAML reader reads the text as granit-parser does, and as it reads it whole
///   when cut in two halves at any item of the `users` list;
/// - every diagnostic names the file;
/// - the plain-text plans hold no control character but line breaks, and the coloured one
///   is the plain one with colour added;
/// - the JSON plan parses back;
/// - an export of the server state validates as a manifest.
pub fn run_pipeline(bytes: &[u8]) -> Reached {
    // The CLI reads manifests as UTF-8 and refuses anything else before parsing.
    let Ok(source) = std::str::from_utf8(bytes) else {
        return Reached::NotText;
    };
    // The fast YAML reader reads every input as granit-parser does, or leaves it to it; and
    // two halves of it as the whole.
    assert!(
        readers_agree(source),
        "the fast YAML reader disagrees with granit-parser or with itself on two halves"
    );
    let path = Path::new("fuzz.yaml");
    let manifest = match validate(source, path) {
        Ok(validated) => validated.manifest,
        Err(diagnostics) => {
            for diagnostic in &diagnostics {
                let text = escape_lines(&diagnostic.to_string()).into_owned();
                assert!(text.contains("fuzz.yaml"), "names the file: {text}");
            }
            return Reached::Refused(diagnostics.len());
        }
    };
    let listing = server_listing(&manifest);
    let options = PlanOptions {
        reinvite_pending_older_than: Some(std::time::Duration::from_secs(86_400)),
        now: NOW,
        ..PlanOptions::default()
    };
    let mut plan = plan_with(&manifest, &listing, &options);
    record_server_fingerprint(&mut plan, &listing);

    let human = plan_human(&plan, Style::plain());
    assert_shown_safely(&human, "the human plan");
    assert_shown_safely(
        &plan_markdown(&plan, &MarkdownOptions::default()),
        "the markdown plan",
    );
    // At the smallest budget a larger plan takes the renderer's cutting path.
    let cut = MarkdownOptions {
        budget: MIN_MARKDOWN_BUDGET,
        ..MarkdownOptions::default()
    };
    assert_shown_safely(&plan_markdown(&plan, &cut), "the cut markdown plan");
    let coloured = plan_human(&plan, Style::new(true));
    assert_eq!(
        without_colour(&coloured),
        human,
        "colour adds nothing but colour"
    );
    let document = plan_json(&plan);
    if let Err(error) = serde_json::from_str::<Value>(&document) {
        panic!("the JSON plan does not parse back: {error}\n{document}");
    }

    // Both flavours: each leaves out different server-owned keys and default roles.
    for flavor in [Flavor::Netlify, Flavor::Supabase] {
        let exported = export(&manifest.name, &listing, false, flavor);
        let yaml = match export_yaml(&exported) {
            Ok(yaml) => yaml,
            Err(error) => panic!("the export cannot be written: {error}"),
        };
        if let Err(diagnostics) = validate(&yaml, Path::new("export.yaml")) {
            let shown: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            panic!(
                "the {flavor:?} export does not validate:\n{}\n{yaml}",
                shown.join("\n")
            );
        }
    }
    Reached::Planned(plan.changes.len())
}

/// Panics when `text` holds a character a terminal would act on. Line breaks are layout.
fn assert_shown_safely(text: &str, what: &str) {
    let escaped = escape_lines(text);
    if escaped != text || text.contains('\t') || text.contains('\r') {
        panic!("{what} holds raw control characters:\n{text:?}");
    }
}

/// `text` without the SGR sequences (`ESC [ digits m`) that [`Style`] writes.
fn without_colour(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        plain.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if after[digits..].starts_with('m') {
            rest = &after[digits + 1..];
        } else {
            plain.push_str(&rest[start..start + 2]);
            rest = after;
        }
    }
    plain.push_str(rest);
    plain
}

/// The server as the plan sees it: users derived from the manifest (missing, managed with
/// drifted metadata, pending for a long time, not yet managed), and users no manifest could
/// hold, with control characters and bidi overrides in every string the server owns.
fn server_listing(manifest: &Manifest) -> Vec<RemoteUser> {
    let marker = format!("gotrue-sync:{}", manifest.name);
    let mut users: Vec<Value> = Vec::new();
    for (index, spec) in manifest.users.iter().enumerate() {
        let id = format!("00000000-0000-4000-8000-{index:012}");
        let roles = spec.roles.clone().unwrap_or_default();
        let user = match index % 4 {
            0 => continue,
            1 => json!({"id": id, "email": spec.email, "confirmed_at": "2026-01-01T00:00:00Z",
                "app_metadata": {"provider": "email", "managed_by": marker, "roles": roles},
                "user_metadata": {"drift": "\u{1b}[31mred\u{9b}2J", "\u{202e}key": 1}}),
            2 => json!({"id": id, "email": spec.email, "invited_at": "2020-01-01T00:00:00Z",
                "app_metadata": {"provider": "email", "managed_by": marker},
                "user_metadata": {"kept": "\u{2066}value\u{2069}"}}),
            _ => json!({"id": id, "email": spec.email, "role": "editor\u{7}",
                "confirmed_at": "2026-01-01T00:00:00Z",
                "app_metadata": {"provider": "email", "managed_by": "gotrue-sync:other\u{1b}]0;x\u{7}"},
                "user_metadata": spec.user_metadata}),
        };
        users.push(user);
    }
    users.extend([
        json!({"id": "\u{1b}[2Jid", "email": "\u{1b}[31mgone@example.com",
            "confirmed_at": "2026-01-01T00:00:00Z",
            "app_metadata": {"provider": "email", "managed_by": marker, "roles": ["\u{9b}31m"]},
            "user_metadata": {"note": "line\nbreak\r\u{1b}[A"}}),
        json!({"id": "x1", "email": "with space@example.com", "app_metadata": {}}),
        json!({"id": "x2", "email": "quo\"te@example.com", "app_metadata": {}}),
        json!({"id": "x3", "email": "new\nline@example.com", "app_metadata": {}}),
        json!({"id": "x4", "email": "pending@example.com",
            "invited_at": "2020-01-01T00:00:00Z\n# users: []\u{1b}[31m",
            "app_metadata": {"provider": "email"}}),
        json!({"id": "x5", "email": "PENDING@example.com", "role": " ", "app_metadata": null}),
    ]);
    users
        .into_iter()
        .map(|user| match serde_json::from_value(user) {
            Ok(user) => user,
            Err(error) => panic!("the fuzz listing builds invalid users: {error}"),
        })
        .collect()
}
