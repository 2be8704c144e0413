//! Validation: every problem in a manifest at once, each with its location and a fix hint.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use super::diagnostic::{
    did_you_mean, is_secret_like_key, Diagnostic, SourceLines, SourceLocation,
};
use super::model::{
    opens_admin_api, AdoptMode, CreateMode, Manifest, MetadataMode, Policy, PruneMode, SecretRef,
    UserSpec, SUPPORTED_VERSION,
};
use super::schema::{field_names, Section};
use super::yaml::{self, Key, Mark, Node, NodeValue, UsersSplit};
use crate::identity::{check_address, collation_fold, email_key, AddressError};
use crate::metadata::Metadata;
use crate::ownership::reserved_app_key;

/// A manifest that passed validation, with where each user was declared.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The typed manifest.
    pub manifest: Manifest,
    /// Findings that do not stop the manifest from loading, in document order.
    pub warnings: Vec<Diagnostic>,
    /// The file, and where each entry of `manifest.users` starts in it, by index: a position
    /// per user rather than a [`SourceLocation`] with its own copy of the path, since only
    /// a manifest of several files looks them up.
    path: PathBuf,
    user_marks: Vec<Mark>,
}

impl Validated {
    /// Where entry `index` of `manifest.users` is declared.
    pub fn user_location(&self, index: usize) -> Option<SourceLocation> {
        let mark = self.user_marks.get(index)?;
        Some(SourceLocation::new(&self.path, mark.line(), mark.column()))
    }
}

/// Parses and validates a single-file manifest `source` read from `path`.
pub fn validate(source: &str, path: &Path) -> Result<Validated, Vec<Diagnostic>> {
    let file = validate_file(source, path);
    let admin = admin_role_problems(file.role_uses, file.allow_admin_role, &file.admin_roles);
    let mut found = match file.result {
        Ok(validated) if admin.is_empty() => return Ok(validated),
        Ok(validated) => validated.warnings,
        Err(diagnostics) => diagnostics,
    };
    found.extend(admin);
    found.sort_by_key(|d| (d.location.line, d.location.column));
    Err(found)
}

/// A user's `role`, with the finding to report if the policy counts it as an admin role
/// and does not allow one.
#[derive(Debug)]
pub struct RoleUse {
    /// The role as written.
    pub role: String,
    /// The finding, located at the role.
    pub diagnostic: Diagnostic,
}

/// The findings for `uses` of roles that open the admin API (the defaults and
/// `admin_roles`), unless `allow_admin_role`.
pub fn admin_role_problems(
    uses: Vec<RoleUse>,
    allow_admin_role: bool,
    admin_roles: &[String],
) -> Vec<Diagnostic> {
    if allow_admin_role {
        return Vec::new();
    }
    uses.into_iter()
        .filter(|used| opens_admin_api(&used.role, admin_roles))
        .map(|used| used.diagnostic)
        .collect()
}

/// One file of a manifest, validated on its own. Whether the admin role is allowed depends
/// on the policy, which may live in another file, so those findings are kept apart.
#[derive(Debug)]
pub struct FileValidation {
    /// The file's manifest, or its problems (admin-role uses excluded).
    pub result: Result<Validated, Vec<Diagnostic>>,
    /// Users given a `role`: which of them are admin roles depends on the policy, which may
    /// live in another file (see [`admin_role_problems`]).
    pub role_uses: Vec<RoleUse>,
    /// This file's `policy.allow_admin_role`.
    pub allow_admin_role: bool,
    /// This file's `policy.admin_roles`.
    pub admin_roles: Vec<String>,
    /// Where this file declares `policy`, if it does.
    pub policy_location: Option<SourceLocation>,
    /// Where this file declares `name`.
    pub name_location: Option<SourceLocation>,
}

/// Validates one file of a manifest.
pub fn validate_file(source: &str, path: &Path) -> FileValidation {
    let mut check = Checker::new(path, source);
    let result = check.run(halves(source));
    FileValidation {
        result,
        role_uses: check.role_uses,
        allow_admin_role: check.allow_admin_role,
        admin_roles: check.admin_roles,
        policy_location: check.policy_location,
        name_location: check.name_location,
    }
}

struct Checker<'a> {
    path: &'a Path,
    source: &'a str,
    /// The source's lines for snippets, secrets masked.
    lines: SourceLines<'a>,
    diagnostics: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    role_uses: Vec<RoleUse>,
    allow_admin_role: bool,
    admin_roles: Vec<String>,
    policy_location: Option<SourceLocation>,
    name_location: Option<SourceLocation>,
}

/// What a message calls the object being checked, formatted only when there is a problem.
#[derive(Clone, Copy)]
enum Context<'e> {
    Policy,
    /// A user whose e-mail is not known (yet), by index.
    Entry(usize),
    User(&'e str),
}

impl fmt::Display for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Policy => f.write_str("`policy`"),
            Context::Entry(index) => write!(f, "users[{index}]"),
            Context::User(email) => write!(f, "user `{email}`"),
        }
    }
}

/// The known fields of one mapping, in document order.
struct Fields<'n, 's>(Vec<(&'n Key<'s>, &'n Node<'s>)>);

impl<'n, 's> Fields<'n, 's> {
    fn get(&self, name: &str) -> Option<(&'n Key<'s>, &'n Node<'s>)> {
        self.0.iter().find(|(key, _)| key.value == name).copied()
    }
}

const PRUNE_MODES: [(&str, PruneMode); 3] = [
    ("none", PruneMode::None),
    ("managed", PruneMode::Managed),
    ("all", PruneMode::All),
];
const METADATA_MODES: [(&str, MetadataMode); 2] = [
    ("merge", MetadataMode::Merge),
    ("exact", MetadataMode::Exact),
];
const CREATE_MODES: [(&str, CreateMode); 2] = [
    ("invite", CreateMode::Invite),
    ("password", CreateMode::Password),
];

const ADOPT_MODES: [(&str, AdoptMode); 3] = [
    ("none", AdoptMode::None),
    ("confirmed", AdoptMode::Confirmed),
    ("all", AdoptMode::All),
];

/// Manifests from this size on whose `users` list ends the file are read in two halves on
/// two threads (with two cores or more): reading and checking the users is nearly all of
/// `validate`, and each user's check is independent of the others' but for repeated
/// addresses, which are looked for across the halves afterwards. A quarter of a megabyte is
/// about 2,500 users, some 10 ms of work: far more than a thread costs.
const SPLIT_MIN_BYTES: usize = 256 * 1024;

/// Where to cut `source` for reading it in two halves at once, if it is worth it.
fn halves(source: &str) -> Option<UsersSplit> {
    if !yaml::worth_a_second_thread(source.len(), SPLIT_MIN_BYTES) {
        return None;
    }
    yaml::users_split(source)
}

/// The users to reserve room for in `bytes` of YAML: a user with roles and metadata takes
/// about 100 bytes. Bounded, so that a large file with few users (or none: not a manifest)
/// does not reserve gigabytes.
fn expected_users(bytes: usize) -> usize {
    (bytes / 100).min(1 << 20)
}

/// Each address's collation fold, with where it was first declared and as what. Hashed
/// with foldhash rather than std's SipHash: a 100k-user manifest makes 100k insertions, and
/// the hash's resistance to chosen collisions buys nothing here, since the file is the
/// user's own (the worst a crafted file could do is slow its own validation down). The
/// hasher is still seeded per process.
type Seen<'a> = HashMap<Cow<'a, str>, (Mark, Cow<'a, str>), foldhash::fast::RandomState>;

/// The users of a manifest as they are checked, with what checking them found.
struct UserList<'a> {
    specs: Vec<UserSpec>,
    marks: Vec<Mark>,
    seen: Seen<'a>,
    /// For a list checked while it is parsed: the problems found in its items, reported in
    /// their place once the rest of the file is checked; numbers that would not be stored
    /// as written apart, since those come first.
    numbers: Vec<Diagnostic>,
    problems: Vec<Diagnostic>,
}

impl UserList<'_> {
    fn with_capacity(capacity: usize) -> Self {
        UserList {
            specs: Vec::with_capacity(capacity),
            marks: Vec::with_capacity(capacity),
            seen: Seen::with_capacity_and_hasher(capacity, foldhash::fast::RandomState::default()),
            numbers: Vec::new(),
            problems: Vec::new(),
        }
    }
}

impl<'a> Checker<'a> {
    fn new(path: &'a Path, source: &'a str) -> Self {
        Checker {
            path,
            source,
            lines: SourceLines::new(source),
            diagnostics: Vec::new(),
            warnings: Vec::new(),
            role_uses: Vec::new(),
            allow_admin_role: false,
            admin_roles: Vec::new(),
            policy_location: None,
            name_location: None,
        }
    }

    /// `split`: where to cut the file for reading it in two halves at once ([`halves`]).
    fn run(&mut self, split: Option<UsersSplit>) -> Result<Validated, Vec<Diagnostic>> {
        // The users are checked as the parser reads them, so a large manifest is never held
        // whole as a tree.
        let (parsed, list) = match split.and_then(|split| self.read_in_halves(split)) {
            Some((parsed, list)) => (Ok(parsed), list),
            None => self.read_whole(),
        };
        let (root, users_streamed) = match parsed {
            Ok(parsed) => (parsed.root, parsed.users_streamed),
            Err(_) if !mentions_manifest_keys(self.source) => {
                return Err(vec![not_a_manifest(self.path)]);
            }
            Err(error) => {
                let hint = if error.alias_bomb {
                    "a manifest needs no aliases that expand this far; write the values out or share fewer of them"
                } else {
                    "fix the YAML syntax at this place"
                };
                let message = format!("invalid YAML: {}", error.message);
                self.report(error.location, message, Some(hint));
                return Err(std::mem::take(&mut self.diagnostics));
            }
        };
        let NodeValue::Map(entries) = &root.value else {
            return Err(vec![not_a_manifest(self.path)]);
        };
        if !entries
            .iter()
            .any(|(key, _)| matches!(key.value.as_ref(), "version" | "users"))
        {
            return Err(vec![not_a_manifest(self.path)]);
        }
        let mut streamed = users_streamed.then_some(list);
        for (key, value) in entries {
            match &mut streamed {
                Some(list) if key.value == "users" => {
                    self.diagnostics.append(&mut list.numbers);
                }
                _ => self.numbers(value, &mut vec![&key.value]),
            }
        }
        let checked = self.root(entries, streamed);
        if !self.diagnostics.is_empty() {
            // The warnings go with the errors, in document order: the fix of an error should
            // not be the first time someone hears of a warning on the line next to it.
            let mut found = std::mem::take(&mut self.diagnostics);
            found.append(&mut self.warnings);
            found.sort_by_key(|d| (d.location.line, d.location.column));
            return Err(found);
        }
        let (manifest, user_marks) = checked;
        Ok(Validated {
            manifest,
            warnings: std::mem::take(&mut self.warnings),
            path: self.path.to_path_buf(),
            user_marks,
        })
    }

    /// Reads the file in one pass, checking each user as it is read.
    fn read_whole(&mut self) -> (Result<yaml::Parsed<'a>, yaml::YamlError>, UserList<'a>) {
        let mut list = UserList::with_capacity(expected_users(self.source.len()));
        let source = self.source;
        let parsed = yaml::parse(
            source,
            Some(&mut |index, item| self.stream_user(&mut list, index, &item)),
        );
        (parsed, list)
    }

    /// Reads the file in two halves at once, cut at `split`: the head on this thread, the
    /// tail on another, each checked by a checker of its own. `None`, with nothing changed,
    /// unless the fast reader read both halves whole and no address of the tail repeats one
    /// of the head; the file is then read whole, so that every message is the one a single
    /// read gives.
    fn read_in_halves(&mut self, split: UsersSplit) -> Option<(yaml::Parsed<'a>, UserList<'a>)> {
        let (path, source) = (self.path, self.source);
        let mut head = Checker::new(path, source);
        let mut tail = Checker::new(path, source);
        let given_up = std::sync::atomic::AtomicBool::new(false);
        let (head_read, tail_read) = std::thread::scope(|scope| {
            let tail_reader = std::thread::Builder::new()
                .name("manifest-tail".into())
                .spawn_scoped(scope, || {
                    let mut list = UserList::with_capacity(expected_users(source.len() - split.at));
                    let whole =
                        yaml::read_users_tail(source, split, &given_up, &mut |index, item| {
                            tail.stream_user(&mut list, index, &item);
                        });
                    whole.then_some(list)
                });
            let mut list = UserList::with_capacity(expected_users(split.at));
            let parsed =
                yaml::read_head(&source[..split.at], split, &given_up, &mut |index, item| {
                    head.stream_user(&mut list, index, &item);
                });
            let tail_list = match tail_reader {
                Ok(reader) => reader
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had: the whole file is read on this one.
                Err(_) => None,
            };
            (parsed.map(|parsed| (parsed, list)), tail_list)
        });
        let ((parsed, mut list), mut rest) = (head_read?, tail_read?);
        // An address of the tail already in the head is reported against the head's entry,
        // which only a single read does. Anything else the tail found follows the head's in
        // document order, as a single read gives it.
        if !tail.diagnostics.is_empty() || rest.seen.keys().any(|fold| list.seen.contains_key(fold))
        {
            return None;
        }
        list.specs.append(&mut rest.specs);
        list.marks.append(&mut rest.marks);
        list.numbers.append(&mut rest.numbers);
        list.problems.append(&mut rest.problems);
        self.diagnostics = head.diagnostics;
        self.warnings = head.warnings;
        self.warnings.append(&mut tail.warnings);
        self.role_uses = head.role_uses;
        self.role_uses.append(&mut tail.role_uses);
        Some((parsed, list))
    }

    /// Reports every plain number that would not be stored as written, except under
    /// secret-like keys (a plaintext password is reported as such, and never quoted).
    /// `keys` are the keys above `node`; they are looked at only when there is a number to
    /// report, since telling a secret-like key costs more than the rest of the walk.
    fn numbers<'n>(&mut self, node: &'n Node, keys: &mut Vec<&'n str>) {
        match &node.value {
            NodeValue::InexactNumber => {
                if !keys.iter().any(|key| is_secret_like_key(key)) {
                    self.report(
                        node.referenced,
                        "this number would not be stored as written (leading zeros, a `+`, a trailing `.0`, an exponent or more than 2^53 change it)",
                        Some("quote it to keep it as text, e.g. `zip: \"012345\"`"),
                    );
                }
            }
            NodeValue::Seq(items) => {
                for item in items {
                    self.numbers(item, keys);
                }
            }
            NodeValue::Map(entries) => {
                for (key, value) in entries {
                    keys.push(&key.value);
                    self.numbers(value, keys);
                    keys.pop();
                }
            }
            NodeValue::Null | NodeValue::Bool(_) | NodeValue::Number(_) | NodeValue::String(_) => {}
        }
    }

    fn location(&self, at: Mark) -> SourceLocation {
        SourceLocation::new(self.path, at.line(), at.column())
    }

    fn report(&mut self, at: Mark, message: impl Into<String>, hint: Option<&str>) {
        let diagnostic = Diagnostic::at(self.location(at), message, &self.lines);
        self.push(diagnostic, hint);
    }

    fn push(&mut self, mut diagnostic: Diagnostic, hint: Option<&str>) {
        if let Some(hint) = hint {
            diagnostic = diagnostic.with_hint(hint);
        }
        self.diagnostics.push(diagnostic);
    }

    /// Reports a value of the wrong kind for `key`.
    fn invalid(&mut self, key: &str, value: &Node, context: impl fmt::Display, expected: &str) {
        let message = match &value.value {
            NodeValue::InexactNumber => return,
            found => format!(
                "invalid `{key}` in {context}: expected {expected}, found {}",
                found.type_name()
            ),
        };
        self.report(value.referenced, message, None);
    }

    /// Reports unknown keys of a mapping and returns the known ones.
    fn fields<'n, 's>(
        &mut self,
        entries: &'n [(Key<'s>, Node<'s>)],
        section: Section,
        context: &dyn fmt::Display,
    ) -> Fields<'n, 's> {
        let known = field_names(section);
        let mut found = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if known.iter().any(|name| *name == key.value) {
                found.push((key, value));
                continue;
            }
            let hint = match did_you_mean(&key.value, known.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the fields of {context} are: {}", known.join(", ")),
            };
            self.report(
                key.referenced,
                format!("unknown field `{}` in {context}", key.value),
                Some(&hint),
            );
        }
        Fields(found)
    }

    fn string<'n>(
        &mut self,
        key: &str,
        value: &'n Node,
        context: impl fmt::Display,
    ) -> Option<&'n str> {
        match &value.value {
            NodeValue::String(text) => Some(text),
            _ => {
                self.invalid(key, value, context, "a string");
                None
            }
        }
    }

    /// An optional field: `null` means absent.
    fn optional<'n, T>(
        &mut self,
        field: Option<(&Key, &'n Node)>,
        read: impl FnOnce(&mut Self, &'n Node) -> Option<T>,
    ) -> Option<T> {
        match field {
            None
            | Some((
                _,
                Node {
                    value: NodeValue::Null,
                    ..
                },
            )) => None,
            Some((_, value)) => read(self, value),
        }
    }

    fn bool(&mut self, key: &str, value: &Node, context: impl fmt::Display) -> Option<bool> {
        match value.value {
            NodeValue::Bool(flag) => Some(flag),
            _ => {
                self.invalid(key, value, context, "`true` or `false`");
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        key: &str,
        value: &Node,
        context: impl fmt::Display,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let names = choices
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let NodeValue::String(text) = &value.value else {
            self.invalid(key, value, context, &format!("one of {names}"));
            return None;
        };
        let found = choices.iter().find(|(name, _)| name == text);
        if found.is_none() {
            self.report(
                value.referenced,
                format!(
                    "invalid `{key}` in {context}: unknown value `{text}`, expected one of {names}"
                ),
                None,
            );
        }
        found.map(|(_, choice)| *choice)
    }

    fn string_list(
        &mut self,
        key: &str,
        value: &Node,
        context: impl fmt::Display,
    ) -> Option<Vec<String>> {
        let NodeValue::Seq(items) = &value.value else {
            self.invalid(key, value, context, "a list of strings");
            return None;
        };
        let mut list = Vec::with_capacity(items.len());
        for item in items {
            match &item.value {
                NodeValue::String(text) => list.push(text.to_string()),
                _ => {
                    self.invalid(key, item, context, "a list of strings");
                    return None;
                }
            }
        }
        Some(list)
    }

    fn metadata(
        &mut self,
        key: &str,
        value: &Node,
        context: impl fmt::Display,
    ) -> Option<Metadata> {
        match &value.value {
            NodeValue::Map(_) => Some(Metadata::from_serialized_map(&AsJson(value))),
            _ => {
                self.invalid(key, value, context, "a mapping");
                None
            }
        }
    }

    /// An item of the `users` list, checked as soon as it is read.
    fn stream_user(&mut self, list: &mut UserList<'a>, index: usize, item: &Node<'a>) {
        std::mem::swap(&mut self.diagnostics, &mut list.numbers);
        self.numbers(item, &mut vec!["users"]);
        std::mem::swap(&mut self.diagnostics, &mut list.numbers);
        std::mem::swap(&mut self.diagnostics, &mut list.problems);
        self.list_user(list, index, item);
        std::mem::swap(&mut self.diagnostics, &mut list.problems);
    }

    /// `streamed`: the users, already checked while the file was parsed.
    fn root(
        &mut self,
        entries: &[(Key<'a>, Node<'a>)],
        streamed: Option<UserList<'a>>,
    ) -> (Manifest, Vec<Mark>) {
        let fields = self.fields(entries, Section::Root, &"the manifest");
        let top = entries
            .first()
            .map_or(Mark::UNKNOWN, |(key, _)| key.referenced);

        match fields.get("version") {
            None => self.report(
                top,
                "missing `version`",
                Some("add `version: 1` at the top of the file"),
            ),
            Some((_, value)) => {
                let supported = matches!(&value.value, NodeValue::Number(n) if n.as_u64() == Some(u64::from(SUPPORTED_VERSION)));
                let found = match &value.value {
                    NodeValue::Number(n) => Some(n.to_string()),
                    NodeValue::InexactNumber => None,
                    other => Some(other.type_name().to_owned()),
                };
                if let (false, Some(found)) = (supported, found) {
                    self.report(
                        value.referenced,
                        format!("unsupported manifest version {found}"),
                        Some("this build of gotrue-sync reads `version: 1`"),
                    );
                }
            }
        }

        let mut name = String::new();
        match fields.get("name") {
            None => self.report(
                top,
                "missing `name`",
                Some("add `name: <owner label>`, e.g. `name: marketing-site`; it marks the users this manifest owns"),
            ),
            Some((key, value)) => {
                self.name_location = Some(self.location(key.referenced));
                match &value.value {
                    NodeValue::String(text) if valid_name(text) => name = text.to_string(),
                    _ => self.report(
                        value.referenced,
                        "`name` must be a non-empty label of letters, digits, `.`, `_` or `-`",
                        Some("for example `name: marketing-site`"),
                    ),
                }
            }
        }

        let mut policy = Policy::default();
        if let Some((key, value)) = fields.get("policy") {
            self.policy_location = Some(self.location(key.referenced));
            policy = self.policy(value);
            self.allow_admin_role = policy.allow_admin_role;
            self.admin_roles.clone_from(&policy.admin_roles);
        }

        let (users, user_marks) = match (fields.get("users"), streamed) {
            (Some(_), Some(mut list)) => {
                self.diagnostics.append(&mut list.problems);
                (list.specs, list.marks)
            }
            (Some((_, users)), None) => self.users(users),
            (None, _) => (Vec::new(), Vec::new()),
        };
        let manifest = Manifest {
            version: SUPPORTED_VERSION,
            name,
            policy,
            users,
        };
        (manifest, user_marks)
    }

    fn policy(&mut self, node: &Node) -> Policy {
        let mut policy = Policy::default();
        let entries = match &node.value {
            NodeValue::Map(entries) => entries,
            NodeValue::Null => return policy,
            other => {
                self.report(
                    node.referenced,
                    format!("`policy` must be a mapping, found {}", other.type_name()),
                    Some("for example `policy: { prune: managed, max_deletes: 10 }`"),
                );
                return policy;
            }
        };
        let context = Context::Policy;
        let fields = self.fields(entries, Section::Policy, &context);
        for (key, value) in &fields.0 {
            let key = key.value.as_ref();
            match key {
                "prune" => {
                    if let Some(mode) = self.choice(key, value, context, &PRUNE_MODES) {
                        policy.prune = mode;
                    }
                }
                "max_deletes" => match &value.value {
                    NodeValue::Number(n)
                        if n.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)) =>
                    {
                        policy.max_deletes = n
                            .as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .unwrap_or(u32::MAX);
                    }
                    _ => self.invalid(key, value, context, "a whole number of at least 0"),
                },
                "user_metadata" | "app_metadata" => {
                    if let Some(mode) = self.choice(key, value, context, &METADATA_MODES) {
                        if key == "user_metadata" {
                            policy.user_metadata = mode;
                        } else {
                            policy.app_metadata = mode;
                        }
                    }
                }
                "allow_admin_role" => {
                    if let Some(allow) = self.bool(key, value, context) {
                        policy.allow_admin_role = allow;
                    }
                }
                "admin_roles" => {
                    if let Some(roles) = self.string_list(key, value, context) {
                        self.admin_role_names(value);
                        policy.admin_roles = roles;
                    }
                }
                "adopt" => {
                    if let Some(mode) = self.choice(key, value, context, &ADOPT_MODES) {
                        policy.adopt = mode;
                    }
                }
                "ignore" => {
                    if let Some(paths) = self.string_list(key, value, context) {
                        self.ignore_paths(value);
                        policy.ignore = paths;
                    }
                }
                // `fields` has reported every other key; a test checks that each field of
                // the schema is read here as serde reads it.
                _ => {}
            }
        }
        policy
    }

    fn ignore_paths(&mut self, list: &Node) {
        let NodeValue::Seq(paths) = &list.value else {
            return;
        };
        for path in paths {
            let NodeValue::String(text) = &path.value else {
                continue;
            };
            let valid = matches!(text.split_once('.'), Some(("app_metadata" | "user_metadata", key)) if !key.is_empty() && !key.contains('.'));
            if !valid {
                self.report(
                    path.referenced,
                    format!("invalid ignore path `{text}` in `policy`"),
                    Some("write `app_metadata.KEY` or `user_metadata.KEY` (top-level keys only)"),
                );
            }
        }
    }

    fn admin_role_names(&mut self, list: &Node) {
        let NodeValue::Seq(roles) = &list.value else {
            return;
        };
        for role in roles {
            if matches!(&role.value, NodeValue::String(text) if text.trim().is_empty()) {
                self.report(
                    role.referenced,
                    "empty role in `policy.admin_roles`",
                    Some("list the role names your server's admin setting gives (`GOTRUE_JWT_ADMIN_GROUP_NAME` or `GOTRUE_JWT_ADMIN_ROLES`)"),
                );
            }
        }
    }

    fn users(&mut self, users: &Node<'a>) -> (Vec<UserSpec>, Vec<Mark>) {
        let items = match &users.value {
            NodeValue::Seq(items) => items,
            NodeValue::Null => return (Vec::new(), Vec::new()),
            other => {
                self.report(
                    users.referenced,
                    format!("`users` must be a list, found {}", other.type_name()),
                    Some("write each user as a list item: `- email: alice@example.com`"),
                );
                return (Vec::new(), Vec::new());
            }
        };
        let mut list = UserList::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            self.list_user(&mut list, index, item);
        }
        (list.specs, list.marks)
    }

    fn list_user(&mut self, list: &mut UserList<'a>, index: usize, item: &Node<'a>) {
        list.marks.push(item.referenced);
        if let Some(spec) = self.user(index, item, &mut list.seen) {
            list.specs.push(spec);
        }
    }

    fn user<'n>(
        &mut self,
        index: usize,
        item: &'n Node<'a>,
        seen: &mut Seen<'a>,
    ) -> Option<UserSpec> {
        let context = Context::Entry(index);
        let NodeValue::Map(entries) = &item.value else {
            self.report(
                item.referenced,
                format!(
                    "{context} must be a mapping, found {}",
                    item.value.type_name()
                ),
                Some("write the user as `- email: alice@example.com`"),
            );
            return None;
        };
        let fields = self.fields(entries, Section::User, &context);

        let email: &'n str = match fields.get("email") {
            None => {
                self.report(
                    item.referenced,
                    format!("{context} has no `email`"),
                    Some("add `email: <address>`; users are keyed by e-mail"),
                );
                return None;
            }
            Some((_, value)) => match &value.value {
                NodeValue::String(written) => {
                    let email: &'n str = written;
                    if let Err(problem) = check_address(email) {
                        self.report(
                            value.referenced,
                            format!(
                                "invalid e-mail address `{}`: {problem}",
                                email.escape_debug()
                            ),
                            Some(address_hint(&problem)),
                        );
                    }
                    // One account on netlify/gotrue, whose database ignores case and accents.
                    let fold = match written {
                        Cow::Borrowed(text) => collation_fold(text),
                        Cow::Owned(text) => Cow::Owned(collation_fold(text).into_owned()),
                    };
                    match seen.entry(fold) {
                        Entry::Occupied(earlier) => {
                            let (first, first_email) = earlier.get();
                            let first = self.location(*first);
                            let message = if email_key(email) == email_key(first_email) {
                                format!("duplicate user `{email}` (e-mails are compared case-insensitively)")
                            } else {
                                format!("user `{email}` collides with `{first_email}`: netlify/gotrue compares addresses ignoring case and accents (`ß` = `ss`), so both name one account")
                            };
                            let diagnostic = Diagnostic::at(
                                self.location(value.referenced),
                                message,
                                &self.lines,
                            )
                            .with_related("first declared at", first);
                            self.push(diagnostic, Some("keep one entry per e-mail address"));
                        }
                        Entry::Vacant(vacant) => {
                            vacant.insert((value.referenced, written.clone()));
                        }
                    }
                    email
                }
                other => {
                    self.report(
                        value.referenced,
                        format!("`email` must be a string, found {}", other.type_name()),
                        None,
                    );
                    return None;
                }
            },
        };
        let context = Context::User(email);
        let mut spec = UserSpec::new(email);
        for &(key_node, value) in &fields.0 {
            let key = key_node.value.as_ref();
            let field = Some((key_node, value));
            match key {
                "email" | "password" => {}
                "roles" => spec.roles = self.optional(field, |c, v| c.string_list(key, v, context)),
                "user_metadata" => {
                    spec.user_metadata = self.optional(field, |c, v| c.metadata(key, v, context));
                }
                "app_metadata" => {
                    spec.app_metadata = self.optional(field, |c, v| c.metadata(key, v, context));
                    self.reserved_app_metadata(value, context);
                }
                "create" => {
                    if let Some(mode) = self.choice(key, value, context, &CREATE_MODES) {
                        spec.create = mode;
                    }
                }
                "confirmed" => {
                    spec.confirmed = self.optional(field, |c, v| c.bool(key, v, context))
                }
                "role" => {
                    spec.role =
                        self.optional(field, |c, v| c.string(key, v, context).map(str::to_owned));
                    self.role(value, context);
                }
                "renamed_from" => {
                    spec.renamed_from =
                        self.optional(field, |c, v| c.string(key, v, context).map(str::to_owned));
                    self.renamed_from(value, email, context);
                }
                "adopt" => {
                    if let Some(adopt) = self.bool(key, value, context) {
                        spec.adopt = adopt;
                    }
                }
                // `fields` has reported every other key (see `policy`).
                _ => {}
            }
        }

        match (fields.get("password"), spec.create) {
            (Some((_, password)), CreateMode::Password) => {
                spec.password = self.secret_ref(password, context);
            }
            (Some((key, _)), CreateMode::Invite) => self.report(
                key.referenced,
                format!("{context} is invited, so it cannot have a password"),
                Some("remove `password`, or set `create: password` to create the account with it"),
            ),
            (None, CreateMode::Password) => self.report(
                item.referenced,
                format!("{context} has `create: password` but no `password`"),
                Some("add `password: { env: VARIABLE }` or `password: { file: path }`"),
            ),
            (None, CreateMode::Invite) => {}
        }
        if let (Some((key, _)), CreateMode::Invite, Some(true)) =
            (fields.get("confirmed"), spec.create, spec.confirmed)
        {
            // GoTrue's invite endpoint takes no confirmation: the invited user confirms by
            // accepting the invitation, so the flag would be silently dropped.
            let warning = Diagnostic::at(
                self.location(key.referenced),
                format!("{context} is created by invitation, so `confirmed: true` only confirms an existing unconfirmed account: a new one is confirmed when its invitation is accepted"),
                &self.lines,
            )
            .warning()
            .with_hint("remove `confirmed` if the account does not exist yet, or set `create: password` to create it confirmed");
            self.warnings.push(warning);
        }
        Some(spec)
    }

    fn renamed_from(&mut self, value: &Node, email: &str, context: Context) {
        if let NodeValue::String(old) = &value.value {
            if let Err(problem) = check_address(old) {
                self.report(
                    value.referenced,
                    format!(
                        "invalid `renamed_from` address `{}`: {problem}",
                        old.escape_debug()
                    ),
                    Some(address_hint(&problem)),
                );
            } else if email_key(old) == email_key(email) {
                self.report(
                    value.referenced,
                    format!("{context} is `renamed_from` its own address"),
                    Some("remove `renamed_from`"),
                );
            }
        }
    }

    fn reserved_app_metadata(&mut self, value: &Node, context: Context) {
        if let NodeValue::Map(app) = &value.value {
            for (key, _) in app {
                if let Some(reserved) = reserved_app_key(&key.value) {
                    self.report(
                        key.referenced,
                        format!("`app_metadata.{}` is reserved in {context}", key.value),
                        Some(reserved.hint),
                    );
                }
            }
        }
    }

    fn role(&mut self, value: &Node, context: Context) {
        if let NodeValue::String(role) = &value.value {
            if role.trim().is_empty() {
                self.report(
                    value.referenced,
                    format!("empty `role` in {context}"),
                    Some("the server cannot clear a role; remove `role` to leave it alone"),
                );
            } else {
                let role = role.trim();
                let diagnostic = Diagnostic::at(
                    self.location(value.referenced),
                    format!("{context} would get the admin role `{role}`, which controls every user of the instance"),
                    &self.lines,
                )
                .with_hint("if this is intended, set `policy.allow_admin_role: true`");
                self.role_uses.push(RoleUse {
                    role: role.to_owned(),
                    diagnostic,
                });
            }
        }
    }

    fn secret_ref(&mut self, password: &Node, context: Context) -> Option<SecretRef> {
        let hint = "reference the secret instead: `password: { env: VARIABLE }` or `password: { file: path }`";
        match &password.value {
            NodeValue::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                let text = match &value.value {
                    NodeValue::String(text) if !text.is_empty() => Some(text.to_string()),
                    _ => None,
                };
                match (key.value.as_ref(), text) {
                    ("env", Some(env)) => return Some(SecretRef::Env { env }),
                    ("file", Some(file)) => return Some(SecretRef::File { file }),
                    ("env" | "file", None) => self.report(
                        value.referenced,
                        format!(
                            "`password.{}` of {context} must be a non-empty string",
                            key.value
                        ),
                        Some(hint),
                    ),
                    (source, _) => self.report(
                        key.referenced,
                        format!("unknown secret source `{source}` in the password of {context}"),
                        Some(hint),
                    ),
                }
            }
            NodeValue::String(_) | NodeValue::Number(_) | NodeValue::InexactNumber => self.report(
                password.referenced,
                format!(
                    "plaintext password in {context}: secrets must not be written in the manifest"
                ),
                Some(hint),
            ),
            _ => self.report(
                password.referenced,
                format!("invalid password reference in {context}"),
                Some(hint),
            ),
        }
        None
    }
}

/// A node written as the JSON it stands for, straight from the tree. A plain number whose
/// spelling JSON would not keep is written as `null`; `numbers` reports it wherever it is
/// not under a secret-like key.
struct AsJson<'n, 's>(&'n Node<'s>);

impl Serialize for AsJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0.value {
            NodeValue::Null | NodeValue::InexactNumber => s.serialize_unit(),
            NodeValue::Bool(flag) => s.serialize_bool(*flag),
            NodeValue::Number(number) => number.serialize(s),
            NodeValue::String(text) => s.serialize_str(text),
            NodeValue::Seq(items) => s.collect_seq(items.iter().map(AsJson)),
            NodeValue::Map(entries) => s.collect_map(
                entries
                    .iter()
                    .map(|(key, value)| (&*key.value, AsJson(value))),
            ),
        }
    }
}

/// A file that is not a manifest: refused as a whole, without quoting any of it, since it
/// may be a secret that happens to sit beside the manifest.
fn not_a_manifest(path: &Path) -> Diagnostic {
    Diagnostic::whole_file(
        path,
        format!(
            "{} is not a gotrue-sync manifest (no `version` or `users` at the top level); its content is not shown",
            path.display()
        ),
    )
    .with_hint("pass the manifest file itself, and keep other YAML files (secrets above all) out of a manifest directory")
}

/// For a file that is not valid YAML: whether it reads like a manifest all the same (a line
/// starting with `version:` or `users:`), so that its syntax error may be shown in context.
fn mentions_manifest_keys(source: &str) -> bool {
    source
        .lines()
        .any(|line| line.starts_with("version:") || line.starts_with("users:"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

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

#[cfg(test)]
mod tests;
