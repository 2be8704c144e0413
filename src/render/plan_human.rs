//! The human plan, in the manner of Terraform: one block per user, `+` create, `~` update,
//! `-` delete, before → after per field, and a loud block when anything is deleted.

use std::fmt::Write;

use serde_json::{Map, Value};
use similar::{ChangeTag, TextDiff};

use super::escape::escape_controls as escaped;
use super::style::Style;
use crate::plan::{
    Change, KeyChange, NewUser, PendingInvite, Plan, Reinvite, Removal, Summary, UserUpdate,
};

/// How many pending invitations a plan names. A large instance can have thousands, which
/// would bury the changes, so by default only the oldest few are named beside the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingList {
    /// The oldest this many.
    Oldest(usize),
    /// Every one (`-v`).
    All,
}

/// Pending invitations named by default (beside the count).
pub const PENDING_NAMED: usize = 5;

impl Default for PendingList {
    fn default() -> Self {
        PendingList::Oldest(PENDING_NAMED)
    }
}

impl PendingList {
    /// `All` when the user asked for more detail (`-v`), else the default.
    pub fn for_verbosity(verbose: u8) -> Self {
        if verbose > 0 {
            PendingList::All
        } else {
            PendingList::default()
        }
    }
}

/// The pending invitations `list` names, oldest first (ties by e-mail). `since` is compared
/// as a time, not as text: RFC 3339 with and without fractional seconds do not sort as text.
pub(super) fn oldest_pending(plan: &Plan, list: PendingList) -> Vec<&PendingInvite> {
    let sent = |invite: &PendingInvite| {
        time::OffsetDateTime::parse(
            &invite.since,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
    };
    let mut invites: Vec<(Option<time::OffsetDateTime>, &PendingInvite)> = plan
        .pending_invites
        .iter()
        .map(|invite| (sent(invite), invite))
        .collect();
    // Unparseable times sort last: `None` is mapped above every time.
    invites.sort_by(|(a_time, a), (b_time, b)| {
        (a_time.is_none(), a_time, &a.email).cmp(&(b_time.is_none(), b_time, &b.email))
    });
    let keep = match list {
        PendingList::Oldest(count) => count,
        PendingList::All => invites.len(),
    };
    invites
        .into_iter()
        .take(keep)
        .map(|(_, invite)| invite)
        .collect()
}

/// Renders `plan` for a person to review, naming the default number of pending invitations.
pub fn plan_human(plan: &Plan, style: Style) -> String {
    plan_human_with(plan, style, PendingList::default())
}

/// Renders `plan` for a person to review, naming the pending invitations `pending` says.
pub fn plan_human_with(plan: &Plan, style: Style, pending_list: PendingList) -> String {
    let mut out = String::new();
    if !plan.summary.has_changes() {
        let _ = writeln!(
            out,
            "{} The server matches the manifest ({} listed users unchanged, {}).",
            style.green(&style.bold("No changes.")),
            plan.summary.unchanged,
            left_alone(&plan.summary)
        );
        pending(&mut out, plan, pending_list, style);
        warnings(&mut out, plan, style);
        conflicts(&mut out, plan, style);
        return out;
    }
    let _ = writeln!(out, "gotrue-sync will perform the following actions:\n");
    for change in &plan.changes {
        out.push_str(&change_block(change, style));
        out.push('\n');
    }
    delete_warning(&mut out, plan, style);
    pending(&mut out, plan, pending_list, style);
    warnings(&mut out, plan, style);
    conflicts(&mut out, plan, style);
    let _ = writeln!(out, "{}", summary_line(plan));
    out
}

/// One change as a Terraform-style block.
pub fn change_block(change: &Change, style: Style) -> String {
    let mut out = String::new();
    match change {
        Change::Invite(user) => new_user(&mut out, user, "invite", "invited", style),
        Change::Create(user) => {
            new_user(&mut out, user, "create", "created with a password", style)
        }
        Change::Update(update) => update_block(&mut out, update, style),
        Change::Delete(removal) => delete_block(&mut out, removal, style),
        Change::Reinvite(reinvite) => reinvite_block(&mut out, reinvite, style),
    }
    out
}

/// `Plan: 2 to invite, 1 to create, 3 to update, 1 to delete. 40 unmanaged users left alone.`
pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let reinvite = if s.reinvite > 0 {
        format!(", {} to re-invite", s.reinvite)
    } else {
        String::new()
    };
    format!(
        "Plan: {} to invite, {} to create, {} to update, {} to delete{reinvite}. {}.",
        s.invite,
        s.create,
        s.update,
        s.delete,
        capitalize(&left_alone(s))
    )
}

/// `40 unmanaged users left alone`, and under `prune: none` the manifest's own accounts
/// it keeps: `, 3 managed users not pruned under prune: none`.
pub(super) fn left_alone(summary: &Summary) -> String {
    let plural = |count: usize| if count == 1 { "" } else { "s" };
    let count = summary.unmanaged_left_alone;
    let mut text = format!("{count} unmanaged user{} left alone", plural(count));
    let managed = summary.managed_not_pruned;
    if managed > 0 {
        text.push_str(&format!(
            ", {managed} managed user{} not pruned under prune: none",
            plural(managed)
        ));
    }
    text
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn new_user(out: &mut String, user: &NewUser, verb: &str, described: &str, style: Style) {
    let _ = writeln!(
        out,
        "  {}",
        style.bold(&format!("# {} will be {described}", escaped(&user.email)))
    );
    let _ = writeln!(out, "  {} {verb} {:?} {{", style.green("+"), user.email);
    let add = |out: &mut String, field: &str, value: &str| {
        let _ = writeln!(out, "      {} {field} = {value}", style.green("+"));
    };
    if let Some(password) = &user.password {
        add(out, "password", &format!("(sensitive, from {password})"));
    }
    if user.confirm {
        add(out, "confirmed", "true");
    }
    if let Some(role) = &user.role {
        add(out, "role", &json(&Value::String(role.clone())));
    }
    if let Some(roles) = user.app_metadata.get("roles") {
        add(out, "roles", &json(roles));
    }
    for (key, value) in sorted(&user.app_metadata).filter(|(k, _)| *k != "roles") {
        add(out, &format!("app_metadata.{}", escaped(key)), &json(value));
    }
    for (key, value) in sorted(&user.user_metadata) {
        add(
            out,
            &format!("user_metadata.{}", escaped(key)),
            &json(value),
        );
    }
    let _ = writeln!(out, "    }}");
}

fn update_block(out: &mut String, update: &UserUpdate, style: Style) {
    let _ = writeln!(
        out,
        "  {}",
        style.bold(&format!(
            "# {} will be updated in place",
            escaped(&update.email)
        ))
    );
    let _ = writeln!(
        out,
        "  {} update {:?} (id {}) {{",
        style.yellow("~"),
        update.email,
        escaped(&update.id)
    );
    if let Some(adoption) = &update.adopt {
        let mut note = match &adoption.previous_owner {
            Some(owner) => format!("adopted from {}", json(owner)),
            None => "adopted: not managed by gotrue-sync before".to_owned(),
        };
        if !adoption.grants.is_empty() {
            let _ = write!(note, "; the adoption grants {}", adoption.grants.join(", "));
        }
        let _ = writeln!(out, "      {}", style.dim(&format!("# {note}")));
    }
    if let Some(roles) = &update.roles {
        let mut delta: Vec<String> = roles
            .added
            .iter()
            .map(|r| format!("+{}", escaped(r)))
            .collect();
        delta.extend(roles.removed.iter().map(|r| format!("-{}", escaped(r))));
        let after = Value::Array(roles.after.iter().cloned().map(Value::String).collect());
        let _ = writeln!(
            out,
            "      {} roles = {} -> {}  {}",
            style.yellow("~"),
            json(&roles.before),
            json(&after),
            style.dim(&format!("# {}", delta.join(" ")))
        );
    }
    if let Some(rename) = &update.rename {
        let _ = writeln!(
            out,
            "      {} email = {:?} -> {:?}  {}",
            style.yellow("~"),
            rename.from,
            rename.to,
            style.dim("# renamed: same account, id and password kept")
        );
    }
    if update.confirm {
        let _ = writeln!(out, "      {} confirmed = false -> true", style.yellow("~"));
    }
    if let Some(role) = &update.role {
        let _ = writeln!(
            out,
            "      {} role = {} -> {}",
            style.yellow("~"),
            json(&Value::String(role.before.clone())),
            json(&Value::String(role.after.clone()))
        );
    }
    for change in &update.app_metadata {
        key_change(out, "app_metadata", change, style);
    }
    for change in &update.user_metadata {
        key_change(out, "user_metadata", change, style);
    }
    let _ = writeln!(out, "    }}");
}

fn key_change(out: &mut String, section: &str, change: &KeyChange, style: Style) {
    let field = format!("{section}.{}", escaped(&change.key));
    match (&change.before, &change.after) {
        (None, Some(after)) => {
            let _ = writeln!(out, "      {} {field} = {}", style.green("+"), json(after));
        }
        (Some(before), None) => {
            let _ = writeln!(
                out,
                "      {} {field} = {} -> null",
                style.red("-"),
                json(before)
            );
        }
        (Some(before), Some(after)) => match diff_sides(before, after) {
            Some(sides) => {
                let note = if sides.text {
                    format!("  {}", style.dim("# text, line by line"))
                } else {
                    String::new()
                };
                let _ = writeln!(out, "      {} {field}:{note}", style.yellow("~"));
                for line in TextDiff::from_lines(&sides.before, &sides.after).iter_all_changes() {
                    let text = line.value().trim_end_matches('\n');
                    let rendered = match line.tag() {
                        ChangeTag::Delete => style.red(&format!("- {text}")),
                        ChangeTag::Insert => style.green(&format!("+ {text}")),
                        ChangeTag::Equal => format!("  {text}"),
                    };
                    let _ = writeln!(out, "          {rendered}");
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "      {} {field} = {} -> {}",
                    style.yellow("~"),
                    json(before),
                    json(after)
                );
            }
        },
        (None, None) => {}
    }
}

fn delete_block(out: &mut String, removal: &Removal, style: Style) {
    let why = if removal.managed {
        "managed by this manifest and no longer listed"
    } else {
        "not listed (prune: all)"
    };
    let _ = writeln!(
        out,
        "  {}",
        style.bold(&format!(
            "# {} will be DELETED: {why}",
            escaped(&removal.email)
        ))
    );
    let _ = writeln!(
        out,
        "  {} delete {:?} (id {})",
        style.red("-"),
        removal.email,
        escaped(&removal.id)
    );
}

fn reinvite_block(out: &mut String, reinvite: &Reinvite, style: Style) {
    let _ = writeln!(
        out,
        "  {}",
        style.bold(&format!(
            "# {} will be re-invited: invited (pending since {}); the server cannot re-send, so the pending account is deleted and invited again",
            escaped(&reinvite.email),
            escaped(&reinvite.pending_since)
        ))
    );
    let _ = writeln!(
        out,
        "  {} delete {:?} (id {})",
        style.red("-"),
        reinvite.email,
        escaped(&reinvite.id)
    );
    new_user(out, &reinvite.invite, "invite", "invited again", style);
}

fn pending(out: &mut String, plan: &Plan, list: PendingList, style: Style) {
    let total = plan.pending_invites.len();
    if total == 0 {
        return;
    }
    let shown = oldest_pending(plan, list);
    let _ = write!(
        out,
        "{}",
        style.bold(&format!("Invitations not yet accepted: {total}"))
    );
    if shown.len() < total {
        let _ = write!(out, " (the oldest {}; -v lists all)", shown.len());
    }
    out.push('\n');
    for invite in shown {
        let _ = writeln!(
            out,
            "  {} invited (pending since {})",
            escaped(&invite.email),
            escaped(&invite.since)
        );
    }
    out.push('\n');
}

fn delete_warning(out: &mut String, plan: &Plan, style: Style) {
    let deleted: Vec<&str> =
        plan.changes
            .iter()
            .filter_map(|c| match c {
                Change::Delete(Removal { email, .. })
                | Change::Reinvite(Reinvite { email, .. }) => Some(email.as_str()),
                _ => None,
            })
            .collect();
    if deleted.is_empty() {
        return;
    }
    let count = deleted.len();
    let _ = writeln!(out, "{}", style.red("╷"));
    let _ = writeln!(
        out,
        "{} {}",
        style.red("│"),
        style.red(&style.bold(&format!(
            "Warning: this plan DELETES {count} user{}.",
            if count == 1 { "" } else { "s" }
        )))
    );
    let _ = writeln!(
        out,
        "{} Deleted accounts, their passwords and sessions cannot be restored.",
        style.red("│")
    );
    for email in deleted {
        let _ = writeln!(out, "{}   - {}", style.red("│"), escaped(email));
    }
    let _ = writeln!(out, "{}\n", style.red("╵"));
}

fn warnings(out: &mut String, plan: &Plan, style: Style) {
    for warning in &plan.warnings {
        let _ = writeln!(out, "{} {}\n", style.yellow("Warning:"), escaped(warning));
    }
}

/// Manifest users the plan cannot bring about, each with what to do.
pub(crate) fn conflicts(out: &mut String, plan: &Plan, style: Style) {
    for conflict in &plan.conflicts {
        let _ = writeln!(
            out,
            "{} {}: {}
  {} {}
",
            style.red("Conflict:"),
            conflict.email,
            conflict.reason,
            style.bold("Hint:"),
            conflict.hint
        );
    }
}

fn sorted(map: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries.into_iter()
}

/// A value as JSON; JSON escapes C0 controls itself, `escaped` the C1 and bidi ones it keeps.
fn json(value: &Value) -> String {
    escaped(&value.to_string()).into_owned()
}

/// Both sides of a changed value as lines to diff, each line escaped.
struct DiffSides {
    before: String,
    after: String,
    /// Both sides are strings, shown as their lines of text rather than as JSON.
    text: bool,
}

/// Compact JSON of an object or array longer than this is diffed line by line.
const INLINE_WIDTH: usize = 60;

/// How a changed value is diffed: `None` for one `old -> new` line; otherwise both sides in
/// the same form, so that only what changed is marked. Two strings either of which has
/// several lines are diffed as text; objects and arrays too long for one line, and anything
/// compared with them, as pretty-printed JSON.
fn diff_sides(before: &Value, after: &Value) -> Option<DiffSides> {
    let multi_line = |v: &Value| v.as_str().is_some_and(|s| s.contains('\n'));
    if let (Some(old), Some(new)) = (before.as_str(), after.as_str()) {
        if multi_line(before) || multi_line(after) {
            return Some(DiffSides {
                before: text_lines(old),
                after: text_lines(new),
                text: true,
            });
        }
        return None;
    }
    let long = |v: &Value| {
        matches!(v, Value::Object(_) | Value::Array(_)) && v.to_string().len() > INLINE_WIDTH
    };
    (long(before) || long(after) || multi_line(before) || multi_line(after)).then(|| DiffSides {
        before: pretty(before),
        after: pretty(after),
        text: false,
    })
}

/// A string's lines, each with its control characters escaped, one per line.
fn text_lines(text: &str) -> String {
    let mut lines = String::new();
    for line in text.split('\n') {
        lines.push_str(&escaped(line));
        lines.push('\n');
    }
    lines
}

/// Pretty-printed JSON with keys sorted at every level (the server's order and the
/// manifest's differ, and neither is a change), escaped line by line: the diff compares lines.
fn pretty(value: &Value) -> String {
    let text =
        serde_json::to_string_pretty(&keys_sorted(value)).unwrap_or_else(|_| value.to_string());
    let mut lines = super::escape::escape_lines(&text).into_owned();
    lines.push('\n');
    lines
}

fn keys_sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            sorted(map)
                .map(|(key, value)| (key.clone(), keys_sorted(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(keys_sorted).collect()),
        other => other.clone(),
    }
}
