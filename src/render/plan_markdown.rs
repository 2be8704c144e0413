//! The plan as a pull-request comment: headline, warnings, one collapsible section per kind
//! of change. The blocks inside are the human rendering, so both read the same.
//!
//! A comment has a size limit (65,536 characters on GitHub), and a plan that adopts an
//! existing instance easily has thousands of changes. So the comment is kept under a byte
//! budget: when the full rendering is too large, every change first becomes one line, then
//! changes regain their fields in plan order while room remains, and what still does not fit
//! is counted instead of shown. A last line says what was cut and where the full plan is.

use std::fmt::Write;

use super::escape::escape_controls as escaped;
use super::plan_human::{change_block, left_alone, oldest_pending, summary_line, PendingList};
use super::style::Style;
use crate::manifest::{opens_admin_api, ADMIN_GROUP};
use crate::plan::{Change, PendingInvite, Plan};

/// The default byte budget: under GitHub's 65,536-character comment limit, with room for a
/// CI pipeline's own lines around the plan.
pub const DEFAULT_MARKDOWN_BUDGET: usize = 60_000;

/// The smallest budget accepted: the headline, the warnings (which are never cut, only
/// shortened to 20 names each), the section headings and the closing line must fit. With
/// addresses of ordinary length they take about 3 kB; only warnings naming 40 addresses
/// near the 254-character limit could exceed this, and then the comment would too.
pub const MIN_MARKDOWN_BUDGET: usize = 8_000;

/// Names listed in a warning line before the rest are counted ("and 12 more").
const WARNING_NAMES: usize = 20;

/// Notes (plan warnings) shown before the rest are counted.
const NOTES_SHOWN: usize = 10;

/// Slack for counts in the closing line growing by a few digits between the measured
/// skeleton and the final rendering.
const COUNT_SLACK: usize = 64;

/// How to render the comment.
#[derive(Debug, Clone)]
pub struct MarkdownOptions {
    /// The target server's host name, shown in the headline. Only the host: a URL's
    /// credentials and path stay out of a comment anyone with read access can see.
    pub server_host: Option<String>,
    /// The most bytes the comment may take.
    pub budget: usize,
    /// Which pending invitations are named.
    pub pending: PendingList,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            server_host: None,
            budget: DEFAULT_MARKDOWN_BUDGET,
            pending: PendingList::default(),
        }
    }
}

/// The host of `url` (no scheme, credentials, port, path or query), if it has one.
pub fn server_host(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
}

/// How much of one change the comment shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// The whole block, as in the human plan.
    Full,
    /// One line: the action, the user and which fields change.
    Line,
    /// Counted only.
    Hidden,
}

/// What one rendering shows.
struct Layout {
    /// Per change, in plan order.
    details: Vec<Detail>,
    /// How many of the named pending invitations are shown.
    pending_shown: usize,
    /// Whether this rendering was cut to fit (adds the closing line).
    cut: bool,
}

/// Picks the changes that belong in one collapsible section of the comment.
type ChangeFilter = fn(&Change) -> bool;

/// One collapsible section per change type, in the plan's own order of types.
const SECTIONS: [(&str, ChangeFilter); 5] = [
    ("to invite", |c| matches!(c, Change::Invite(_))),
    ("to create", |c| matches!(c, Change::Create(_))),
    ("to update", |c| matches!(c, Change::Update(_))),
    ("to delete", |c| matches!(c, Change::Delete(_))),
    ("to re-invite", |c| matches!(c, Change::Reinvite(_))),
];

/// Renders `plan` as GitHub/GitLab-flavoured Markdown within `options.budget` bytes.
pub fn plan_markdown(plan: &Plan, options: &MarkdownOptions) -> String {
    let pending = oldest_pending(plan, options.pending);
    let count = plan.changes.len();
    let full = Layout {
        details: vec![Detail::Full; count],
        pending_shown: pending.len(),
        cut: false,
    };
    let text = render(plan, options, &pending, &full);
    if text.len() <= options.budget {
        return text;
    }

    // Everything hidden is the skeleton: what the comment costs before any change is shown.
    let mut layout = Layout {
        details: vec![Detail::Hidden; count],
        pending_shown: 0,
        cut: true,
    };
    let skeleton = render(plan, options, &pending, &layout).len() + COUNT_SLACK;
    let mut room = options.budget.saturating_sub(skeleton);
    let lines: Vec<String> = plan.changes.iter().map(collapsed_line).collect();
    // First every change as one line, in plan order, so a reviewer sees who is touched.
    for (detail, line) in layout.details.iter_mut().zip(&lines) {
        let cost = line.len() + 1;
        if cost > room {
            break;
        }
        *detail = Detail::Line;
        room -= cost;
    }
    for invite in &pending {
        let cost = pending_line(invite).len() + 1;
        if cost > room {
            break;
        }
        layout.pending_shown += 1;
        room -= cost;
    }
    // Then the fields of as many changes as still fit, in plan order.
    for (index, change) in plan.changes.iter().enumerate() {
        if layout.details[index] != Detail::Line {
            continue;
        }
        let block = block_lines(change).len();
        let extra = block.saturating_sub(lines[index].len() + 1);
        if extra <= room {
            layout.details[index] = Detail::Full;
            room -= extra;
        }
    }
    let mut text = render(plan, options, &pending, &layout);
    // The costs above are exact but for a few digits; never hand out a comment over budget.
    while text.len() > options.budget && demote_last(&mut layout) {
        text = render(plan, options, &pending, &layout);
    }
    text
}

/// Shows a little less: the last full change becomes a line, else the last pending name
/// goes, else the last line is hidden. False when nothing is left to take away.
fn demote_last(layout: &mut Layout) -> bool {
    if let Some(detail) = layout
        .details
        .iter_mut()
        .rev()
        .find(|d| **d == Detail::Full)
    {
        *detail = Detail::Line;
        return true;
    }
    if layout.pending_shown > 0 {
        layout.pending_shown -= 1;
        return true;
    }
    if let Some(detail) = layout
        .details
        .iter_mut()
        .rev()
        .find(|d| **d == Detail::Line)
    {
        *detail = Detail::Hidden;
        return true;
    }
    false
}

fn render(
    plan: &Plan,
    options: &MarkdownOptions,
    pending: &[&PendingInvite],
    layout: &Layout,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "### gotrue-sync plan for `{}`",
        escaped(&plan.manifest)
    );
    if let Some(host) = &options.server_host {
        let _ = write!(out, " on `{host}`");
    }
    out.push_str("\n\n");
    if !plan.summary.has_changes() {
        let _ = writeln!(
            out,
            "**No changes.** The server matches the manifest ({} listed users unchanged, {}).\n",
            plan.summary.unchanged,
            left_alone(&plan.summary)
        );
    } else {
        let _ = writeln!(out, "**{}**\n", summary_line(plan));
        warning_block(&mut out, plan);
        for (label, belongs) in SECTIONS {
            section(&mut out, plan, layout, label, belongs);
        }
    }
    pending_section(
        &mut out,
        plan,
        &pending[..layout.pending_shown.min(pending.len())],
    );
    notes(&mut out, plan);
    if layout.cut {
        closing_line(&mut out, plan, options, pending.len(), layout);
    }
    out
}

fn warning_block(out: &mut String, plan: &Plan) {
    let removed: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Delete(_) | Change::Reinvite(_)))
        .map(|c| escaped(c.email()).into_owned())
        .collect();
    let admins = admin_grants(plan);
    if removed.is_empty() && admins.is_empty() {
        return;
    }
    let _ = writeln!(out, "> [!WARNING]");
    if !removed.is_empty() {
        let _ = writeln!(
            out,
            "> This plan **deletes {} user{}**: {}. Deleted accounts cannot be restored.",
            removed.len(),
            if removed.len() == 1 { "" } else { "s" },
            name_list(&removed, "to delete")
        );
    }
    if !admins.is_empty() {
        if !removed.is_empty() {
            let _ = writeln!(out, ">");
        }
        let _ = writeln!(
            out,
            "> This plan grants **admin** rights: {}.",
            name_list(&admins, "with their changes")
        );
    }
    out.push('\n');
}

/// `a, b, c`, or the first [`WARNING_NAMES`] and `and N more (listed WHERE)`.
fn name_list(names: &[String], listed_where: &str) -> String {
    if names.len() <= WARNING_NAMES {
        return names.join(", ");
    }
    format!(
        "{} and {} more (listed {listed_where})",
        names[..WARNING_NAMES].join(", "),
        names.len() - WARNING_NAMES
    )
}

fn section(out: &mut String, plan: &Plan, layout: &Layout, label: &str, belongs: ChangeFilter) {
    let members: Vec<(usize, &Change)> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| belongs(c))
        .collect();
    if members.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>{} {label}</summary>\n",
        members.len()
    );
    let _ = writeln!(out, "```diff");
    let mut hidden = 0;
    for (index, change) in members {
        match layout.details[index] {
            Detail::Full => out.push_str(&block_lines(change)),
            Detail::Line => {
                out.push_str(&collapsed_line(change));
                out.push('\n');
            }
            Detail::Hidden => hidden += 1,
        }
    }
    if hidden > 0 {
        let _ = writeln!(out, "# … and {hidden} more, not shown here");
    }
    let _ = writeln!(out, "```\n</details>\n");
}

/// The human block of one change, one level less indented, each line ended.
fn block_lines(change: &Change) -> String {
    let mut out = String::new();
    for line in change_block(change, Style::plain()).lines() {
        out.push_str(line.strip_prefix("  ").unwrap_or(line));
        out.push('\n');
    }
    out
}

/// One change as one line: the action, the user and the names of the fields it changes.
fn collapsed_line(change: &Change) -> String {
    match change {
        Change::Invite(user) => format!("+ invite {:?}", user.email),
        Change::Create(user) => format!("+ create {:?}", user.email),
        Change::Update(update) => {
            let mut fields: Vec<String> = Vec::new();
            if update.adopt.is_some() {
                fields.push("adopt".into());
            }
            if update.roles.is_some() {
                fields.push("roles".into());
            }
            if update.rename.is_some() {
                fields.push("email".into());
            }
            if update.confirm {
                fields.push("confirmed".into());
            }
            if update.role.is_some() {
                fields.push("role".into());
            }
            fields.extend(
                update
                    .app_metadata
                    .iter()
                    .map(|c| format!("app_metadata.{}", escaped(&c.key))),
            );
            fields.extend(
                update
                    .user_metadata
                    .iter()
                    .map(|c| format!("user_metadata.{}", escaped(&c.key))),
            );
            format!(
                "~ update {:?} (id {}): {}",
                update.email,
                escaped(&update.id),
                fields.join(", ")
            )
        }
        Change::Delete(removal) => {
            format!("- delete {:?} (id {})", removal.email, escaped(&removal.id))
        }
        Change::Reinvite(reinvite) => format!(
            "- re-invite {:?} (id {}, pending since {})",
            reinvite.email,
            escaped(&reinvite.id),
            escaped(&reinvite.pending_since)
        ),
    }
}

/// Users who gain the admin group as their `role`, or `admin` among their roles.
fn admin_grants(plan: &Plan) -> Vec<String> {
    let mut found = Vec::new();
    for change in &plan.changes {
        let (role, roles) = match change {
            Change::Invite(user) | Change::Create(user) => (
                user.role.as_deref(),
                user.app_metadata
                    .get("roles")
                    .and_then(|r| r.as_array())
                    .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(ADMIN_GROUP))),
            ),
            Change::Update(update) => (
                update.role.as_ref().map(|r| r.after.as_str()),
                update
                    .roles
                    .as_ref()
                    .is_some_and(|r| r.added.iter().any(|a| a == ADMIN_GROUP)),
            ),
            _ => (None, false),
        };
        if let Some(role) = role.filter(|r| opens_admin_api(r, &plan.policy.admin_roles)) {
            found.push(format!("{} (role `{role}`)", escaped(change.email())));
        } else if roles {
            found.push(format!(
                "{} (roles + `{ADMIN_GROUP}`)",
                escaped(change.email())
            ));
        }
    }
    found
}

fn pending_line(invite: &PendingInvite) -> String {
    format!(
        "- {}: invited (pending since {})",
        escaped(&invite.email),
        escaped(&invite.since)
    )
}

fn pending_section(out: &mut String, plan: &Plan, shown: &[&PendingInvite]) {
    let total = plan.pending_invites.len();
    if total == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>{total} invitation{} not yet accepted</summary>\n",
        if total == 1 { "" } else { "s" }
    );
    if shown.len() < total {
        let _ = writeln!(
            out,
            "The oldest {} of {total}; `gotrue-sync plan -v` lists all.\n",
            shown.len()
        );
    }
    for invite in shown {
        out.push_str(&pending_line(invite));
        out.push('\n');
    }
    let _ = writeln!(out, "\n</details>\n");
}

fn notes(out: &mut String, plan: &Plan) {
    for warning in plan.warnings.iter().take(NOTES_SHOWN) {
        let _ = writeln!(out, "> [!NOTE]\n> {}\n", escaped(warning));
    }
    if plan.warnings.len() > NOTES_SHOWN {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> {} more notes are in the full plan.\n",
            plan.warnings.len() - NOTES_SHOWN
        );
    }
    // Conflicts are errors the plan cannot act on: never cut.
    for conflict in &plan.conflicts {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **Conflict** for `{}`: {}\n> {}\n",
            conflict.email, conflict.reason, conflict.hint
        );
    }
}

/// Says what the budget cut and where the whole plan is.
fn closing_line(
    out: &mut String,
    plan: &Plan,
    options: &MarkdownOptions,
    pending_named: usize,
    layout: &Layout,
) {
    let total = plan.changes.len();
    let as_line = layout
        .details
        .iter()
        .filter(|d| **d == Detail::Line)
        .count();
    let hidden = layout
        .details
        .iter()
        .filter(|d| **d == Detail::Hidden)
        .count();
    let mut cut = format!(
        "{as_line} of {total} changes are shown as one line without their fields, {hidden} are not shown"
    );
    let pending_cut = pending_named.saturating_sub(layout.pending_shown);
    if pending_cut > 0 {
        let _ = write!(cut, ", {pending_cut} pending invitations are not named");
    }
    let _ = writeln!(
        out,
        "---\n**Shortened to fit {} bytes:** {cut}. The full plan is in this pipeline's plan \
         artifact, or run `gotrue-sync plan --format human` (or `--format json`) with this manifest.",
        options.budget
    );
}
