//! Validation: every problem in a manifest at once, each with its location and a fix hint.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serde_saphyr::{Location, Spanned};

use super::diagnostic::{did_you_mean, Diagnostic, SourceLocation};
use super::model::{CreateMode, Manifest, Policy, UserSpec, ADMIN_GROUP, SUPPORTED_VERSION};
use super::schema::{field_names, Section};
use super::yaml::{Node, NodeValue};
use crate::identity::{check_address, collation_fold, email_key, AddressError};
use crate::ownership::{duplicates, reserved_app_key};

/// A manifest that passed validation, with where each user was declared.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The typed manifest.
    pub manifest: Manifest,
    /// The location of each entry of `manifest.users`, by index.
    pub user_locations: Vec<SourceLocation>,
}

/// Parses and validates a single-file manifest `source` read from `path`.
pub fn validate(source: &str, path: &Path) -> Result<Validated, Vec<Diagnostic>> {
    let file = validate_file(source, path);
    let admin = if file.allow_admin_role {
        Vec::new()
    } else {
        file.admin_role_uses
    };
    match file.result {
        Ok(validated) if admin.is_empty() => Ok(validated),
        Ok(_) => Err(admin),
        Err(mut diagnostics) => {
            diagnostics.extend(admin);
            diagnostics.sort_by_key(|d| (d.location.line, d.location.column));
            Err(diagnostics)
        }
    }
}

/// One file of a manifest, validated on its own. Whether the admin role is allowed depends
/// on the policy, which may live in another file, so those findings are kept apart.
#[derive(Debug)]
pub struct FileValidation {
    /// The file's manifest, or its problems (admin-role uses excluded).
    pub result: Result<Validated, Vec<Diagnostic>>,
    /// Users given the admin role, as ready diagnostics for when the policy forbids it.
    pub admin_role_uses: Vec<Diagnostic>,
    /// This file's `policy.allow_admin_role`.
    pub allow_admin_role: bool,
    /// Where this file declares `policy`, if it does.
    pub policy_location: Option<SourceLocation>,
    /// Where this file declares `name`.
    pub name_location: Option<SourceLocation>,
}

/// Validates one file of a manifest.
pub fn validate_file(source: &str, path: &Path) -> FileValidation {
    let mut check = Checker {
        path,
        source,
        diagnostics: Vec::new(),
        sensitive: Vec::new(),
        admin_role_uses: Vec::new(),
        allow_admin_role: false,
        policy_location: None,
        name_location: None,
    };
    let result = check.run();
    FileValidation {
        result,
        admin_role_uses: check.admin_role_uses,
        allow_admin_role: check.allow_admin_role,
        policy_location: check.policy_location,
        name_location: check.name_location,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

struct Checker<'a> {
    path: &'a Path,
    source: &'a str,
    diagnostics: Vec<Diagnostic>,
    /// Where plaintext passwords start (line, column): snippets of those lines are masked.
    sensitive: Vec<(u64, u64)>,
    admin_role_uses: Vec<Diagnostic>,
    allow_admin_role: bool,
    policy_location: Option<SourceLocation>,
    name_location: Option<SourceLocation>,
}

/// The locations of `password:` values that are plain scalars, so that no diagnostic
/// snippet repeats a secret someone wrote into the manifest by mistake.
fn plaintext_password_locations(root: &Node) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    let NodeValue::Map(entries) = &root.value else {
        return found;
    };
    for (key, users) in entries {
        let NodeValue::Seq(items) = &users.value else {
            continue;
        };
        if key.value != "users" {
            continue;
        }
        for item in items {
            let NodeValue::Map(fields) = &item.value else {
                continue;
            };
            for (field, value) in fields {
                if field.value == "password"
                    && matches!(value.value, NodeValue::String(_) | NodeValue::Number(_))
                {
                    found.push((value.referenced.line(), value.referenced.column()));
                }
            }
        }
    }
    found
}

impl Checker<'_> {
    fn run(&mut self) -> Result<Validated, Vec<Diagnostic>> {
        let root: Node = match serde_saphyr::from_str(self.source) {
            Ok(root) => root,
            Err(error) => {
                let location = error.location().unwrap_or(Location::UNKNOWN);
                let message = format!("invalid YAML: {}", first_line(&error.to_string()));
                self.report(
                    &location,
                    message,
                    Some("fix the YAML syntax at this place"),
                );
                return Err(std::mem::take(&mut self.diagnostics));
            }
        };
        self.sensitive = plaintext_password_locations(&root);
        let user_locations = self.root(&root);
        if !self.diagnostics.is_empty() {
            return Err(std::mem::take(&mut self.diagnostics));
        }
        match serde_json::from_value::<Manifest>(root.value.to_json()) {
            Ok(manifest) => Ok(Validated {
                manifest,
                user_locations,
            }),
            Err(error) => {
                self.report(&root.referenced, error.to_string(), None);
                Err(std::mem::take(&mut self.diagnostics))
            }
        }
    }

    fn location(&self, at: &Location) -> SourceLocation {
        SourceLocation::new(self.path, at.line(), at.column())
    }

    fn report(&mut self, at: &Location, message: impl Into<String>, hint: Option<&str>) {
        let diagnostic = Diagnostic::new(self.location(at), message, self.source);
        self.push(diagnostic, hint);
    }

    fn push(&mut self, mut diagnostic: Diagnostic, hint: Option<&str>) {
        let line = diagnostic.location.line;
        if let Some((_, column)) = self.sensitive.iter().find(|(l, _)| *l == line) {
            let keep = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
            diagnostic.source_line = diagnostic
                .source_line
                .map(|text| format!("{}(sensitive)", text.chars().take(keep).collect::<String>()));
        }
        if let Some(hint) = hint {
            diagnostic = diagnostic.with_hint(hint);
        }
        self.diagnostics.push(diagnostic);
    }

    /// Reports unknown keys of a mapping and returns the known ones by name.
    fn fields<'n>(
        &mut self,
        entries: &'n [(Spanned<String>, Node)],
        section: Section,
        context: &str,
    ) -> HashMap<&'n str, (&'n Spanned<String>, &'n Node)> {
        let known = field_names(section);
        let mut found = HashMap::new();
        for (key, value) in entries {
            if known.contains(&key.value) {
                found.insert(key.value.as_str(), (key, value));
                continue;
            }
            let hint = match did_you_mean(&key.value, known.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the fields of {context} are: {}", known.join(", ")),
            };
            self.report(
                &key.referenced,
                format!("unknown field `{}` in {context}", key.value),
                Some(&hint),
            );
        }
        found
    }

    /// Checks one field's value against the typed model by deserializing a minimal object
    /// holding just that field (plus `base`, the other required fields), so a wrong type or
    /// an unknown enum value is reported at the value itself.
    fn typed_field<T: DeserializeOwned>(
        &mut self,
        base: &Map<String, Value>,
        key: &str,
        value: &Node,
        context: &str,
    ) {
        let mut object = base.clone();
        object.insert(key.to_owned(), value.value.to_json());
        if let Err(error) = serde_json::from_value::<T>(Value::Object(object)) {
            let message = format!("invalid `{key}` in {context}: {error}");
            self.report(&value.referenced, message, None);
        }
    }

    fn root(&mut self, root: &Node) -> Vec<SourceLocation> {
        let NodeValue::Map(entries) = &root.value else {
            self.report(
                &root.referenced,
                format!(
                    "the manifest must be a mapping, found {}",
                    root.value.type_name()
                ),
                Some("start the file with `version: 1`, `name: ...` and a `users:` list"),
            );
            return Vec::new();
        };
        let fields = self.fields(entries, Section::Root, "the manifest");
        let start = Location::UNKNOWN;
        let top = entries
            .first()
            .map(|(k, _)| &k.referenced)
            .unwrap_or(&start);

        match fields.get("version") {
            None => self.report(
                top,
                "missing `version`",
                Some("add `version: 1` at the top of the file"),
            ),
            Some((_, value)) => {
                let supported = matches!(&value.value, NodeValue::Number(n) if n.as_u64() == Some(u64::from(SUPPORTED_VERSION)));
                if !supported {
                    let found = match &value.value {
                        NodeValue::Number(n) => n.to_string(),
                        other => other.type_name().to_owned(),
                    };
                    self.report(
                        &value.referenced,
                        format!("unsupported manifest version {found}"),
                        Some("this build of gotrue-sync reads `version: 1`"),
                    );
                }
            }
        }

        match fields.get("name") {
            None => self.report(
                top,
                "missing `name`",
                Some("add `name: <owner label>`, e.g. `name: marketing-site`; it marks the users this manifest owns"),
            ),
            Some((_, value)) => match &value.value {
                NodeValue::String(name) if valid_name(name) => {}
                _ => self.report(
                    &value.referenced,
                    "`name` must be a non-empty label of letters, digits, `.`, `_` or `-`",
                    Some("for example `name: marketing-site`"),
                ),
            },
        }

        if let Some((key, _)) = fields.get("name") {
            self.name_location = Some(self.location(&key.referenced));
        }
        if let Some((key, policy)) = fields.get("policy") {
            self.policy_location = Some(self.location(&key.referenced));
            self.allow_admin_role = self.policy(policy);
        }

        match fields.get("users") {
            Some((_, users)) => self.users(users),
            None => Vec::new(),
        }
    }

    /// Checks `policy` and returns its `allow_admin_role`.
    fn policy(&mut self, policy: &Node) -> bool {
        let entries = match &policy.value {
            NodeValue::Map(entries) => entries,
            NodeValue::Null => return false,
            other => {
                self.report(
                    &policy.referenced,
                    format!("`policy` must be a mapping, found {}", other.type_name()),
                    Some("for example `policy: { prune: managed, max_deletes: 10 }`"),
                );
                return false;
            }
        };
        let fields = self.fields(entries, Section::Policy, "`policy`");
        let base = Map::new();
        for (key, value) in fields.values() {
            self.typed_field::<Policy>(&base, &key.value, value, "`policy`");
        }
        if let Some((_, NodeValue::Seq(paths))) = fields.get("ignore").map(|(k, v)| (k, &v.value)) {
            for path in paths {
                let NodeValue::String(text) = &path.value else {
                    continue;
                };
                let valid = matches!(text.split_once('.'), Some(("app_metadata" | "user_metadata", key)) if !key.is_empty() && !key.contains('.'));
                if !valid {
                    self.report(
                        &path.referenced,
                        format!("invalid ignore path `{text}` in `policy`"),
                        Some(
                            "write `app_metadata.KEY` or `user_metadata.KEY` (top-level keys only)",
                        ),
                    );
                }
            }
        }
        matches!(fields.get("allow_admin_role"), Some((_, v)) if v.value == NodeValue::Bool(true))
    }

    fn users(&mut self, users: &Node) -> Vec<SourceLocation> {
        let items = match &users.value {
            NodeValue::Seq(items) => items,
            NodeValue::Null => return Vec::new(),
            other => {
                self.report(
                    &users.referenced,
                    format!("`users` must be a list, found {}", other.type_name()),
                    Some("write each user as a list item: `- email: alice@example.com`"),
                );
                return Vec::new();
            }
        };
        let mut locations = Vec::with_capacity(items.len());
        let mut emails = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            locations.push(self.location(&item.referenced));
            if let Some(email) = self.user(index, item) {
                emails.push(email);
            }
        }
        let emails: Vec<(&str, SourceLocation, &str)> = emails
            .iter()
            .map(|(email, at)| (email.as_str(), at.clone(), self.source))
            .collect();
        for diagnostic in duplicate_users(&emails) {
            self.push(diagnostic, Some("keep one entry per e-mail address"));
        }
        locations
    }

    /// Checks one user entry; returns its address and where it is written.
    fn user(&mut self, index: usize, item: &Node) -> Option<(String, SourceLocation)> {
        let context = format!("users[{index}]");
        let NodeValue::Map(entries) = &item.value else {
            self.report(
                &item.referenced,
                format!(
                    "{context} must be a mapping, found {}",
                    item.value.type_name()
                ),
                Some("write the user as `- email: alice@example.com`"),
            );
            return None;
        };
        let fields = self.fields(entries, Section::User, &context);
        let found;

        let email = match fields.get("email") {
            None => {
                self.report(
                    &item.referenced,
                    format!("{context} has no `email`"),
                    Some("add `email: <address>`; users are keyed by e-mail"),
                );
                return None;
            }
            Some((_, value)) => match &value.value {
                NodeValue::String(email) => {
                    if let Err(problem) = check_address(email) {
                        self.report(
                            &value.referenced,
                            format!(
                                "invalid e-mail address `{}`: {problem}",
                                email.escape_debug()
                            ),
                            Some(address_hint(&problem)),
                        );
                    }
                    found = Some((email.clone(), self.location(&value.referenced)));
                    email.clone()
                }
                other => {
                    self.report(
                        &value.referenced,
                        format!("`email` must be a string, found {}", other.type_name()),
                        None,
                    );
                    return None;
                }
            },
        };
        let context = format!("user `{email}`");
        let mut base = Map::new();
        base.insert("email".into(), Value::String(email.clone()));
        for (key, value) in fields.values() {
            if !matches!(key.value.as_str(), "email" | "password") {
                self.typed_field::<UserSpec>(&base, &key.value, value, &context);
            }
        }

        let create_password = matches!(fields.get("create"), Some((_, v)) if v.value == NodeValue::String("password".into()));
        let create = if create_password {
            CreateMode::Password
        } else {
            CreateMode::Invite
        };
        match (fields.get("password"), create) {
            (Some((_, password)), CreateMode::Password) => self.secret_ref(password, &context),
            (Some((key, _)), CreateMode::Invite) => self.report(
                &key.referenced,
                format!("{context} is invited, so it cannot have a password"),
                Some("remove `password`, or set `create: password` to create the account with it"),
            ),
            (None, CreateMode::Password) => self.report(
                &item.referenced,
                format!("{context} has `create: password` but no `password`"),
                Some("add `password: { env: VARIABLE }` or `password: { file: path }`"),
            ),
            (None, CreateMode::Invite) => {}
        }
        if let Some((_, value)) = fields.get("renamed_from") {
            if let NodeValue::String(old) = &value.value {
                if let Err(problem) = check_address(old) {
                    self.report(
                        &value.referenced,
                        format!(
                            "invalid `renamed_from` address `{}`: {problem}",
                            old.escape_debug()
                        ),
                        Some(address_hint(&problem)),
                    );
                } else if email_key(old) == email_key(&email) {
                    self.report(
                        &value.referenced,
                        format!("{context} is `renamed_from` its own address"),
                        Some("remove `renamed_from`"),
                    );
                }
            }
        }

        if let Some((_, value)) = fields.get("app_metadata") {
            if let NodeValue::Map(app) = &value.value {
                for (key, _) in app {
                    if let Some(reserved) = reserved_app_key(&key.value) {
                        self.report(
                            &key.referenced,
                            format!("`app_metadata.{}` is reserved in {context}", key.value),
                            Some(reserved.hint),
                        );
                    }
                }
            }
        }

        if let Some((_, value)) = fields.get("role") {
            if let NodeValue::String(role) = &value.value {
                if role.trim().is_empty() {
                    self.report(
                        &value.referenced,
                        format!("empty `role` in {context}"),
                        Some("the server cannot clear a role; remove `role` to leave it alone"),
                    );
                } else if role.trim() == ADMIN_GROUP {
                    let diagnostic = Diagnostic::new(
                        self.location(&value.referenced),
                        format!("{context} would get the admin role `{ADMIN_GROUP}`, which controls every user of the instance"),
                        self.source,
                    )
                    .with_hint("if this is intended, set `policy.allow_admin_role: true`");
                    self.admin_role_uses.push(diagnostic);
                }
            }
        }
        found
    }

    fn secret_ref(&mut self, password: &Node, context: &str) {
        let hint = "reference the secret instead: `password: { env: VARIABLE }` or `password: { file: path }`";
        match &password.value {
            NodeValue::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                let valid_value = matches!(&value.value, NodeValue::String(s) if !s.is_empty());
                if !matches!(key.value.as_str(), "env" | "file") {
                    self.report(
                        &key.referenced,
                        format!(
                            "unknown secret source `{}` in the password of {context}",
                            key.value
                        ),
                        Some(hint),
                    );
                } else if !valid_value {
                    self.report(
                        &value.referenced,
                        format!(
                            "`password.{}` of {context} must be a non-empty string",
                            key.value
                        ),
                        Some(hint),
                    );
                }
            }
            NodeValue::String(_) | NodeValue::Number(_) => self.report(
                &password.referenced,
                format!(
                    "plaintext password in {context}: secrets must not be written in the manifest"
                ),
                Some(hint),
            ),
            _ => self.report(
                &password.referenced,
                format!("invalid password reference in {context}"),
                Some(hint),
            ),
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A deliberately plain check: GoTrue only validates addresses when SMTP is configured, so
/// we catch the typos it would store verbatim.
/// What to do about an address the servers would not take as meant.
fn address_hint(problem: &AddressError) -> &'static str {
    match problem {
        AddressError::SurroundingWhitespace | AddressError::ControlCharacter(_) => {
            "remove the spaces or invisible characters; the server keeps them, making it another account"
        }
        AddressError::NotBare(_) => "write only the address, such as `alice@example.com`, without a name or comment",
        _ => "write the address as the server accepts it, such as `alice@example.com`",
    }
}

/// Entries that name one account twice: the same address up to letter case (one account on
/// every server), or up to accents (one account on netlify/gotrue, whose database ignores
/// them; two created at once would both exist, after that the server refuses the second).
/// `users`: each address, where it is written and the text of that file.
pub(crate) fn duplicate_users(users: &[(&str, SourceLocation, &str)]) -> Vec<Diagnostic> {
    duplicates(users.iter().map(|(email, _, _)| collation_fold(email)))
        .into_iter()
        .map(|(later, first)| {
            let (email, here, source) = &users[later];
            let (first_email, there, _) = &users[first];
            let message = if email_key(email) == email_key(first_email) {
                format!("duplicate user `{email}` (e-mails are compared case-insensitively)")
            } else {
                format!("user `{email}` collides with `{first_email}`: netlify/gotrue compares addresses ignoring case and accents (`ß` = `ss`), so both name one account")
            };
            Diagnostic::new(here.clone(), message, source)
                .with_related("first declared at", there.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests;
