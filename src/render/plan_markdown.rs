//! The plan as a pull-request comment: headline, warnings, one collapsible section per kind
//! of change. The blocks inside are the human rendering, so both read the same.

use std::fmt::Write;

use super::plan_human::{change_block, summary_line};
use super::style::Style;
use crate::manifest::ADMIN_GROUP;
use crate::plan::{Change, Plan};

/// Picks the changes that belong in one collapsible section of the comment.
type ChangeFilter = fn(&Change) -> bool;

/// Renders `plan` as GitHub/GitLab-flavoured Markdown.
pub fn plan_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### gotrue-sync plan for `{}`\n", plan.manifest);
    if !plan.summary.has_changes() {
        let _ = writeln!(
            out,
            "**No changes.** The server matches the manifest ({} listed users unchanged, {}).",
            plan.summary.unchanged,
            super::plan_human::left_alone(plan.summary.unmanaged_left_alone)
        );
        pending(&mut out, plan);
        notes(&mut out, plan);
        return out;
    }
    let _ = writeln!(out, "**{}**\n", summary_line(plan));

    let removed: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Delete(_) | Change::Reinvite(_)))
        .map(Change::email)
        .collect();
    let admins = admin_grants(plan);
    if !removed.is_empty() || !admins.is_empty() {
        let _ = writeln!(out, "> [!WARNING]");
        if !removed.is_empty() {
            let _ = writeln!(
                out,
                "> This plan **deletes {} user{}**: {}. Deleted accounts cannot be restored.",
                removed.len(),
                if removed.len() == 1 { "" } else { "s" },
                removed.join(", ")
            );
        }
        if !admins.is_empty() {
            if !removed.is_empty() {
                let _ = writeln!(out, ">");
            }
            let _ = writeln!(
                out,
                "> This plan grants **admin** rights: {}.",
                admins.join(", ")
            );
        }
        out.push('\n');
    }

    // One collapsible section per change type, in the plan's own order of types.
    let sections: [(&str, ChangeFilter); 5] = [
        ("to invite", |c| matches!(c, Change::Invite(_))),
        ("to create", |c| matches!(c, Change::Create(_))),
        ("to update", |c| matches!(c, Change::Update(_))),
        ("to delete", |c| matches!(c, Change::Delete(_))),
        ("to re-invite", |c| matches!(c, Change::Reinvite(_))),
    ];
    for (label, belongs) in sections {
        let changes: Vec<&Change> = plan.changes.iter().filter(|c| belongs(c)).collect();
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<details><summary>{} {label}</summary>\n",
            changes.len()
        );
        let _ = writeln!(out, "```diff");
        for change in changes {
            for line in change_block(change, Style::plain()).lines() {
                let _ = writeln!(out, "{}", line.strip_prefix("  ").unwrap_or(line));
            }
        }
        let _ = writeln!(out, "```\n</details>\n");
    }
    pending(&mut out, plan);
    notes(&mut out, plan);
    out
}

/// Warnings and conflicts, as GitHub alerts.
fn notes(out: &mut String, plan: &Plan) {
    for warning in &plan.warnings {
        let _ = writeln!(out, "> [!NOTE]\n> {warning}\n");
    }
    for conflict in &plan.conflicts {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **Conflict** for `{}`: {}\n> {}\n",
            conflict.email, conflict.reason, conflict.hint
        );
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
        if role == Some(ADMIN_GROUP) {
            found.push(format!("{} (role `{ADMIN_GROUP}`)", change.email()));
        } else if roles {
            found.push(format!("{} (roles + `{ADMIN_GROUP}`)", change.email()));
        }
    }
    found
}

fn pending(out: &mut String, plan: &Plan) {
    if plan.pending_invites.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details><summary>{} invitation(s) not yet accepted</summary>\n",
        plan.pending_invites.len()
    );
    for invite in &plan.pending_invites {
        let _ = writeln!(
            out,
            "- {}: invited (pending since {})",
            invite.email, invite.since
        );
    }
    let _ = writeln!(out, "\n</details>\n");
}
