//! The in-memory user store: users ordered by creation, hash indexes by id and e-mail, refresh
//! tokens, and conversion to and from the state/seed file format.

use std::collections::HashMap;
use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use super::collation::Collation;
use super::flavor::{EmailScope, Flavor, TieOrder};
use super::wire::UserRecord;

/// Unix seconds; the real server stores whole-second MySQL timestamps.
pub type Timestamp = i64;

/// Current time in whole seconds.
pub fn now() -> Timestamp {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 UTC rendering, e.g. `2024-01-02T03:04:05Z`.
pub fn format_ts(ts: Timestamp) -> String {
    Rfc3339Utc(ts).to_string()
}

/// A timestamp that renders as RFC 3339 UTC, e.g. `2024-01-02T03:04:05Z`, without a `String`
/// of its own. A listing page renders thousands of these; formatting each into a new string
/// was a quarter of the emulator's time serving a page, time the benchmark's client then
/// waited for on a 2-core machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339Utc(pub Timestamp);

impl Rfc3339Utc {
    /// The time; a timestamp out of the calendar's range is the epoch.
    fn time(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// The rendering written into `out`, when the year has four digits (as for every
    /// timestamp the clock gives); `None` otherwise, for the general formatter to render.
    fn four_digit_year(self, out: &mut [u8; 20]) -> Option<&str> {
        let t = self.time();
        let year = u32::try_from(t.year()).ok().filter(|year| *year <= 9999)?;
        *out = *b"0000-00-00T00:00:00Z";
        let fields = [
            (0..4, year),
            (5..7, u32::from(u8::from(t.month()))),
            (8..10, u32::from(t.day())),
            (11..13, u32::from(t.hour())),
            (14..16, u32::from(t.minute())),
            (17..19, u32::from(t.second())),
        ];
        for (range, mut value) in fields {
            for digit in out[range].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        std::str::from_utf8(out).ok()
    }
}

impl fmt::Display for Rfc3339Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.four_digit_year(&mut [0; 20]) {
            return f.write_str(text);
        }
        let t = self.time();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl Serialize for Rfc3339Utc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.four_digit_year(&mut [0; 20]) {
            Some(text) => serializer.serialize_str(text),
            None => serializer.collect_str(self),
        }
    }
}

/// Parses RFC 3339 into whole seconds (sub-second parts are dropped like MySQL does).
pub fn parse_ts(s: &str) -> Result<Timestamp, time::error::Parse> {
    OffsetDateTime::parse(s, &Rfc3339).map(|t| t.unix_timestamp())
}

/// 16 random bytes as unpadded base64url (22 chars), the shape of every GoTrue token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Comparison whose duration does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A stored user, including the fields GoTrue never returns over the API.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub aud: String,
    pub role: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub confirmed_at: Option<Timestamp>,
    pub invited_at: Option<Timestamp>,
    pub confirmation_sent_at: Option<Timestamp>,
    pub recovery_sent_at: Option<Timestamp>,
    pub email_change_sent_at: Option<Timestamp>,
    pub new_email: String,
    pub confirmation_token: String,
    pub recovery_token: String,
    pub email_change_token: String,
    pub app_metadata: Metadata,
    pub user_metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl User {
    /// A fresh user as the real `models.NewUser` builds it: provider `email`, no confirmation.
    pub fn new(aud: &str, email: &str, role: &str) -> User {
        let ts = now();
        let mut app_metadata = Map::new();
        app_metadata.insert("provider".into(), Value::String("email".into()));
        User {
            id: Uuid::new_v4(),
            aud: aud.to_owned(),
            role: role.to_owned(),
            email: email.to_owned(),
            password_hash: None,
            confirmed_at: None,
            invited_at: None,
            confirmation_sent_at: None,
            recovery_sent_at: None,
            email_change_sent_at: None,
            new_email: String::new(),
            confirmation_token: String::new(),
            recovery_token: String::new(),
            email_change_token: String::new(),
            app_metadata: Metadata::from(app_metadata),
            user_metadata: Metadata::default(),
            created_at: ts,
            updated_at: ts,
        }
    }

    fn full_name_lower(&self) -> Option<String> {
        match self.user_metadata.get("full_name") {
            Some(Value::String(s)) => Some(s.to_lowercase()),
            _ => None,
        }
    }
}

/// A metadata object (`app_metadata`, `user_metadata`) kept as its compact JSON text: held
/// as parsed maps, a million users' metadata costs several times the memory of the text. It
/// is parsed only where it is changed or searched, and rendered as it is.
#[derive(Debug, Clone)]
pub struct Metadata(Box<RawValue>);

impl Metadata {
    /// The stored object as a map (an unparsable text, which cannot be stored, reads as `{}`).
    pub fn to_map(&self) -> Map<String, Value> {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    /// GoTrue's shallow merge of `patch` into this object (see [`merge_metadata`]).
    pub fn merge(&mut self, patch: &Map<String, Value>) {
        let mut map = self.to_map();
        merge_metadata(&mut map, patch);
        *self = Metadata::from(map);
    }

    /// The value of a top-level key.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.to_map().remove(key)
    }
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata::from(Map::new())
    }
}

impl From<Map<String, Value>> for Metadata {
    fn from(map: Map<String, Value>) -> Self {
        // A map of JSON values always serializes; the fallback is never taken.
        let text = serde_json::to_string(&map).unwrap_or_else(|_| "{}".to_owned());
        match RawValue::from_string(text) {
            Ok(raw) => Metadata(raw),
            Err(_) => Metadata(RawValue::from_string("{}".to_owned()).unwrap_or_default()),
        }
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for Metadata {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// GoTrue's shallow metadata merge: each top-level key replaces the stored one, `null` deletes.
pub fn merge_metadata(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// An issued refresh token. netlify/gotrue deletes it on rotation; supabase/auth keeps it,
/// marked by the token that replaced it, to honour its reuse rules. Logout deletes them all.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub user_id: Uuid,
    pub created_at: Timestamp,
    /// The session (login) this token belongs to; rotation keeps it.
    pub session: Uuid,
    /// The token that replaced this one; `Some` means it was used.
    pub child: Option<String>,
}

/// The outcome of presenting a refresh token under supabase/auth's reuse rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The active token: this fresh child replaces it.
    Rotated(String),
    /// The parent of the active token: the active token is answered again.
    Reused(String),
    /// An older token: the whole session was revoked.
    AlreadyUsed,
    /// No such token (never issued, or logged out).
    NotFound,
}

/// Ordering key: `created_at`, then a unique insertion sequence so that pages never overlap.
type OrderKey = (Timestamp, u64);

#[derive(Debug)]
struct Entry {
    user: User,
    key: OrderKey,
}

/// Sort direction of the admin listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// Why a user could not be inserted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InsertError {
    #[error("a user with id {0} already exists")]
    DuplicateId(Uuid),
}

/// Users of one audience in listing order, kept in blocks of bounded size: reaching any
/// offset walks the block lengths (n / BLOCK of them) and then reads only the page, and an
/// insert or delete moves at most one block's entries. Inserts in creation order (the usual
/// case) append to the last block.
#[derive(Debug, Default)]
struct OrderIndex {
    blocks: Vec<Vec<(OrderKey, Uuid)>>,
    len: usize,
}

/// Target block size of [`OrderIndex`]; a block is split when it reaches twice this.
const BLOCK: usize = 512;

impl OrderIndex {
    fn len(&self) -> usize {
        self.len
    }

    /// Index of the first block whose last key is not below `key`.
    fn block_for(&self, key: OrderKey) -> usize {
        self.blocks
            .partition_point(|block| block.last().is_some_and(|(k, _)| *k < key))
    }

    fn insert(&mut self, key: OrderKey, id: Uuid) {
        let b = self.block_for(key);
        self.len += 1;
        if b == self.blocks.len() {
            match self.blocks.last_mut() {
                Some(last) if last.len() < BLOCK => last.push((key, id)),
                _ => {
                    let mut block = Vec::with_capacity(BLOCK);
                    block.push((key, id));
                    self.blocks.push(block);
                }
            }
            return;
        }
        let block = &mut self.blocks[b];
        let at = block.partition_point(|(k, _)| *k < key);
        block.insert(at, (key, id));
        if block.len() >= 2 * BLOCK {
            let tail = block.split_off(BLOCK);
            self.blocks.insert(b + 1, tail);
        }
    }

    fn remove(&mut self, key: OrderKey) {
        let b = self.block_for(key);
        let Some(block) = self.blocks.get_mut(b) else {
            return;
        };
        if let Ok(at) = block.binary_search_by(|(k, _)| k.cmp(&key)) {
            block.remove(at);
            self.len -= 1;
            if block.is_empty() {
                self.blocks.remove(b);
            }
        }
    }

    /// Number of entries whose key is below `key`.
    fn rank(&self, key: OrderKey) -> usize {
        let b = self.block_for(key);
        let before: usize = self.blocks[..b].iter().map(Vec::len).sum();
        before
            + self
                .blocks
                .get(b)
                .map_or(0, |block| block.partition_point(|(k, _)| *k < key))
    }

    /// The ids at ascending positions `start..end` (clamped to the length).
    fn slice(&self, start: usize, end: usize) -> Vec<Uuid> {
        let end = end.min(self.len);
        let mut out = Vec::with_capacity(end.saturating_sub(start));
        let mut position = 0;
        for block in &self.blocks {
            if out.len() == end.saturating_sub(start) {
                break;
            }
            let next = position + block.len();
            if next > start {
                let from = start.saturating_sub(position);
                let to = (end - position).min(block.len());
                out.extend(block[from..to].iter().map(|(_, id)| *id));
            }
            position = next;
        }
        out
    }

    /// Ids in ascending or descending order, without positions (filtered listings).
    fn iter(&self, dir: Direction) -> Box<dyn Iterator<Item = &Uuid> + '_> {
        let all = self.blocks.iter().flatten().map(|(_, id)| id);
        match dir {
            Direction::Asc => Box::new(all),
            Direction::Desc => Box::new(
                self.blocks
                    .iter()
                    .rev()
                    .flat_map(|b| b.iter().rev())
                    .map(|(_, id)| id),
            ),
        }
    }

    /// One page in direction `dir`: `limit` ids from `offset`.
    fn page(&self, dir: Direction, offset: usize, limit: usize) -> Vec<Uuid> {
        if offset >= self.len {
            return Vec::new();
        }
        match dir {
            Direction::Asc => self.slice(offset, offset.saturating_add(limit)),
            Direction::Desc => {
                let end = self.len - offset;
                let mut ids = self.slice(end.saturating_sub(limit), end);
                ids.reverse();
                ids
            }
        }
    }
}

/// All users and tokens. Callers wrap it in a lock and keep each access synchronous.
#[derive(Debug, Default)]
pub struct Store {
    /// When two addresses are the same account.
    collation: Collation,
    /// Whether an address is unique per audience or across all of them.
    global_emails: bool,
    /// How users with equal `created_at` are paged.
    ties: Option<TieOrder>,
    /// Boxed: the table keeps twice its length in slots, and a user is hundreds of bytes.
    users: HashMap<Uuid, Box<Entry>>,
    /// Per audience, because every listing is scoped to one audience.
    order: HashMap<String, OrderIndex>,
    by_email: HashMap<(String, String), Vec<Uuid>>,
    refresh: HashMap<String, RefreshToken>,
    next_seq: u64,
}

impl Store {
    /// An empty store with the identity and ordering rules of `flavor`.
    pub fn new(flavor: Flavor) -> Self {
        Store {
            collation: flavor.collation(),
            global_emails: flavor.email_scope() == EmailScope::GlobalLowercased,
            ties: Some(flavor.tie_order()),
            ..Store::default()
        }
    }

    pub fn email_key(&self, email: &str) -> String {
        self.collation.key(email)
    }

    /// The e-mail index entry of an address in an audience (no audience when unique
    /// across all of them).
    fn email_index(&self, aud: &str, email: &str) -> (String, String) {
        let aud = if self.global_emails { "" } else { aud };
        (aud.to_owned(), self.collation.key(email))
    }

    /// Number of users across all audiences.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Adds a user; it sorts after every earlier insert with the same `created_at`.
    pub fn insert(&mut self, user: User) -> Result<(), InsertError> {
        if self.users.contains_key(&user.id) {
            return Err(InsertError::DuplicateId(user.id));
        }
        let key = (user.created_at, self.next_seq);
        self.next_seq += 1;
        self.order
            .entry(user.aud.clone())
            .or_default()
            .insert(key, user.id);
        let index = self.email_index(&user.aud, &user.email);
        self.by_email.entry(index).or_default().push(user.id);
        self.users.insert(user.id, Box::new(Entry { user, key }));
        Ok(())
    }

    /// Looks a user up by id, whatever its audience.
    pub fn get(&self, id: &Uuid) -> Option<&User> {
        self.users.get(id).map(|e| &e.user)
    }

    /// The first user (in insertion order) with this e-mail in this audience, or in any
    /// audience where addresses are unique across them.
    pub fn find_by_email(&self, aud: &str, email: &str) -> Option<&User> {
        self.by_email
            .get(&self.email_index(aud, email))
            .and_then(|ids| ids.first())
            .and_then(|id| self.get(id))
    }

    /// Finds a user by a pending token of the kind selected by `field`.
    pub fn find_by_token(&self, token: &str, field: fn(&User) -> &str) -> Option<&User> {
        self.users
            .values()
            .map(|e| &e.user)
            .find(|u| constant_time_eq(field(u).as_bytes(), token.as_bytes()))
    }

    /// Replaces a stored user (same id and audience), keeping its position in the ordering.
    pub fn replace(&mut self, user: User) -> Option<()> {
        let new_key = self.email_index(&user.aud, &user.email);
        let old = &self.users.get(&user.id)?.user;
        let old_key = self.email_index(&old.aud, &old.email);
        let entry = self.users.get_mut(&user.id)?;
        entry.user = user;
        if old_key != new_key {
            let id = entry.user.id;
            remove_id(&mut self.by_email, &old_key, id);
            self.by_email.entry(new_key).or_default().push(id);
        }
        Some(())
    }

    /// Deletes a user and its refresh tokens; returns whether it existed.
    pub fn remove(&mut self, id: &Uuid) -> bool {
        let Some(entry) = self.users.remove(id) else {
            return false;
        };
        if let Some(order) = self.order.get_mut(&entry.user.aud) {
            order.remove(entry.key);
        }
        let key = self.email_index(&entry.user.aud, &entry.user.email);
        remove_id(&mut self.by_email, &key, *id);
        self.revoke_all(id);
        true
    }

    /// One page of an audience's users plus the total count of matching users.
    /// Without a filter this walks only up to the end of the page (and, where ties shift
    /// between queries, over the runs of equal `created_at` the page touches).
    pub fn page(
        &self,
        aud: &str,
        filter: Option<&Filter>,
        dir: Direction,
        offset: u64,
        limit: u64,
    ) -> (u64, Vec<&User>) {
        let Some(order) = self.order.get(aud) else {
            return (0, Vec::new());
        };
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        match filter {
            None => {
                let ids = match self.ties {
                    Some(TieOrder::ShiftsWithOffset) => self.shifted_page(order, dir, skip, take),
                    _ => order.page(dir, skip, take),
                };
                (
                    order.len() as u64,
                    ids.iter().filter_map(|id| self.get(id)).collect(),
                )
            }
            Some(filter) => {
                let users = order.iter(dir).filter_map(|id| self.get(id));
                let mut total = 0u64;
                let mut page = Vec::new();
                for user in users {
                    let hit = filter.matches(user);
                    if hit {
                        if total >= offset && (page.len() as u64) < limit {
                            page.push(user);
                        }
                        total += 1;
                    }
                }
                (total, page)
            }
        }
    }

    /// A page where each run of equal `created_at` is rotated by half the offset
    /// ([`TieOrder::ShiftsWithOffset`]): positions outside such runs are as in `order`.
    fn shifted_page(
        &self,
        order: &OrderIndex,
        dir: Direction,
        skip: usize,
        take: usize,
    ) -> Vec<Uuid> {
        let end = skip.saturating_add(take).min(order.len());
        let created = |id: &Uuid| self.get(id).map_or(0, |u| u.created_at);
        let mut out = Vec::with_capacity(end.saturating_sub(skip));
        let mut position = skip;
        while position < end {
            let Some(at) = order.page(dir, position, 1).first().map(created) else {
                break;
            };
            let (below, through) = (order.rank((at, 0)), order.rank((at.saturating_add(1), 0)));
            let run_start = match dir {
                Direction::Asc => below,
                Direction::Desc => order.len() - through,
            };
            let run = order.page(dir, run_start, through - below);
            let shift = (skip / 2) % run.len().max(1);
            let upto = (run_start + run.len()).min(end);
            for p in position..upto {
                out.push(run[(p - run_start + shift) % run.len()]);
            }
            position = upto.max(position + 1);
        }
        out
    }

    /// Starts a session for `user_id` and returns its first refresh token and the session.
    pub fn issue_refresh(&mut self, user_id: Uuid) -> (String, Uuid) {
        let session = Uuid::new_v4();
        (self.add_refresh(user_id, session), session)
    }

    fn add_refresh(&mut self, user_id: Uuid, session: Uuid) -> String {
        let token = random_token();
        self.refresh.insert(
            token.clone(),
            RefreshToken {
                user_id,
                created_at: now(),
                session,
                child: None,
            },
        );
        token
    }

    /// Removes and returns a refresh token (netlify's rotation consumes it).
    pub fn take_refresh(&mut self, token: &str) -> Option<RefreshToken> {
        self.refresh.remove(token)
    }

    /// A refresh token as stored.
    pub fn refresh(&self, token: &str) -> Option<&RefreshToken> {
        self.refresh.get(token)
    }

    /// supabase/auth's rotation: the active token gets a child; its parent answers the
    /// active token again; anything older revokes the session.
    pub fn rotate_refresh(&mut self, token: &str) -> Rotation {
        let Some(presented) = self.refresh.get(token).cloned() else {
            return Rotation::NotFound;
        };
        match presented.child {
            None => {
                let child = self.add_refresh(presented.user_id, presented.session);
                if let Some(t) = self.refresh.get_mut(token) {
                    t.child = Some(child.clone());
                }
                Rotation::Rotated(child)
            }
            Some(child) if self.refresh.get(&child).is_some_and(|c| c.child.is_none()) => {
                Rotation::Reused(child)
            }
            Some(_) => {
                self.refresh.retain(|_, t| t.session != presented.session);
                Rotation::AlreadyUsed
            }
        }
    }

    /// Whether a session still has tokens (it ends with logout or a detected reuse).
    pub fn session_alive(&self, session: &Uuid) -> bool {
        self.refresh.values().any(|t| t.session == *session)
    }

    /// Revokes every refresh token of a user (logout).
    pub fn revoke_all(&mut self, user_id: &Uuid) {
        self.refresh.retain(|_, t| t.user_id != *user_id);
    }

    /// All users in ascending creation order, as persisted.
    pub fn records(&self) -> Vec<UserRecord> {
        let mut entries: Vec<&Entry> = self.users.values().map(Box::as_ref).collect();
        entries.sort_unstable_by_key(|e| e.key);
        entries
            .into_iter()
            .map(|e| UserRecord::from_user(&e.user))
            .collect()
    }

    /// Refresh tokens, as persisted.
    pub fn refresh_tokens(&self) -> Vec<(String, RefreshToken)> {
        self.refresh
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Restores a persisted refresh token.
    pub fn restore_refresh(&mut self, token: String, value: RefreshToken) {
        self.refresh.insert(token, value);
    }
}

/// The `filter` of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// netlify/gotrue on MySQL: `email LIKE %f% OR full_name LIKE %f%`, case-insensitive.
    EmailOrFullNameCaseInsensitive(String),
    /// supabase/auth on PostgreSQL: `email LIKE %f%`, case-sensitive (§11).
    EmailCaseSensitive(String),
}

impl Filter {
    fn matches(&self, user: &User) -> bool {
        match self {
            Filter::EmailOrFullNameCaseInsensitive(f) => {
                let needle = f.to_lowercase();
                user.email.to_lowercase().contains(&needle)
                    || user.full_name_lower().is_some_and(|n| n.contains(&needle))
            }
            Filter::EmailCaseSensitive(f) => user.email.contains(f.as_str()),
        }
    }
}

fn remove_id(index: &mut HashMap<(String, String), Vec<Uuid>>, key: &(String, String), id: Uuid) {
    if let Some(ids) = index.get_mut(key) {
        ids.retain(|x| *x != id);
        if ids.is_empty() {
            index.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn timestamps_round_trip_as_rfc3339_utc() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_ts(1_704_164_645), "2024-01-02T03:04:05Z");
        assert_eq!(parse_ts("2024-01-02T04:04:05+01:00"), Ok(1_704_164_645));
    }

    #[test]
    fn timestamps_render_as_the_time_crates_rfc3339_across_four_digit_years() {
        let first = -62_167_219_200; // 0000-01-01T00:00:00Z
        let last = 253_402_300_799; // 9999-12-31T23:59:59Z
        let spread = (first..=last).step_by(7_919_993);
        for ts in spread.chain([first, last, -1, 0, 951_782_400, 4_107_542_399]) {
            let expected = OffsetDateTime::from_unix_timestamp(ts)
                .expect("in range")
                .format(&Rfc3339)
                .expect("formats");
            assert_eq!(Rfc3339Utc(ts).to_string(), expected, "{ts}");
            assert_eq!(
                serde_json::to_string(&Rfc3339Utc(ts)).expect("serializes"),
                format!("\"{expected}\""),
                "{ts}"
            );
        }
    }

    #[test]
    fn a_timestamp_outside_four_digit_years_renders_the_same_both_ways() {
        let before_year_zero = -62_167_219_201;
        assert_eq!(format_ts(before_year_zero), "-001-12-31T23:59:59Z");
        assert_eq!(
            serde_json::to_string(&Rfc3339Utc(before_year_zero)).expect("serializes"),
            "\"-001-12-31T23:59:59Z\""
        );
        assert_eq!(format_ts(i64::MAX), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn merge_replaces_top_level_and_null_deletes() {
        let mut stored = obj(json!({"a": 1, "b": {"x": 1, "y": 2}, "c": [1], "keep": true}));
        merge_metadata(
            &mut stored,
            &obj(json!({"a": null, "b": {"x": 9}, "c": ["z"]})),
        );
        assert_eq!(
            Value::Object(stored),
            json!({"b": {"x": 9}, "c": ["z"], "keep": true})
        );
    }

    #[test]
    fn the_store_looks_addresses_up_by_its_collation() {
        let mut store = Store::default();
        store
            .insert(User::new("", "José@x.test", ""))
            .expect("insert");
        assert!(store.find_by_email("", "jose@X.test  ").is_some());
        assert!(store.find_by_email("", " jose@x.test").is_none());
    }

    #[test]
    fn the_order_index_pages_like_a_sorted_list_at_any_offset() {
        let mut index = OrderIndex::default();
        let mut naive: Vec<(OrderKey, Uuid)> = Vec::new();
        // A small linear congruential generator: keys out of order, with ties in `created_at`.
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        for seq in 0..5_000u64 {
            let key = (i64::try_from(next() % 300).expect("small"), seq);
            let id = Uuid::new_v4();
            index.insert(key, id);
            naive.push((key, id));
        }
        naive.sort();
        for _ in 0..1_500 {
            let at = usize::try_from(next()).expect("fits") % naive.len();
            let (key, _) = naive.remove(at);
            index.remove(key);
        }
        index.remove((-1, 0));
        assert_eq!(index.len(), naive.len());
        assert!(index
            .blocks
            .iter()
            .all(|b| !b.is_empty() && b.len() < 2 * BLOCK));
        let ids: Vec<Uuid> = naive.iter().map(|(_, id)| *id).collect();
        for (offset, limit) in [
            (0, 1),
            (0, 50),
            (17, 1000),
            (1000, 513),
            (3400, 200),
            (3499, 5),
            (3500, 5),
            (9999, 5),
        ] {
            let end = (offset + limit).min(ids.len());
            let asc: Vec<Uuid> = ids.get(offset..end).unwrap_or_default().to_vec();
            assert_eq!(
                index.page(Direction::Asc, offset, limit),
                asc,
                "asc {offset} {limit}"
            );
            let reversed: Vec<Uuid> = ids.iter().rev().copied().collect();
            let desc: Vec<Uuid> = reversed.get(offset..end).unwrap_or_default().to_vec();
            assert_eq!(
                index.page(Direction::Desc, offset, limit),
                desc,
                "desc {offset} {limit}"
            );
        }
        assert_eq!(index.iter(Direction::Asc).copied().collect::<Vec<_>>(), ids);
    }

    #[test]
    fn pages_follow_insertion_order_within_a_second() {
        let mut store = Store::default();
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut u = User::new("", &format!("u{i}@x.test"), "");
            u.created_at = 1_000;
            ids.push(u.id);
            store.insert(u).expect("insert");
        }
        store
            .insert(User::new("other", "o@x.test", ""))
            .expect("insert");
        let (total, page) = store.page("", None, Direction::Asc, 1, 2);
        assert_eq!(total, 5);
        assert_eq!(page.iter().map(|u| u.id).collect::<Vec<_>>(), ids[1..3]);
        let (_, page) = store.page("", None, Direction::Desc, 0, 1);
        assert_eq!(page[0].id, ids[4]);
        let (total, page) = store.page(
            "",
            Some(&Filter::EmailOrFullNameCaseInsensitive("U3@".into())),
            Direction::Desc,
            0,
            10,
        );
        assert_eq!((total, page[0].id), (1, ids[3]));
    }

    #[test]
    fn replace_reindexes_email_and_remove_cleans_up() {
        let mut store = Store::default();
        let u = User::new("", "Old@x.test", "");
        let id = u.id;
        store.insert(u.clone()).expect("insert");
        assert_eq!(store.insert(u.clone()), Err(InsertError::DuplicateId(id)));
        let mut changed = u;
        changed.email = "new@x.test".into();
        store.replace(changed).expect("present");
        assert!(store.find_by_email("", "old@x.test").is_none());
        assert_eq!(
            store.find_by_email("", "NEW@x.test ").map(|u| u.id),
            Some(id)
        );
        let (rt, _) = store.issue_refresh(id);
        assert!(store.remove(&id));
        assert!(store.take_refresh(&rt).is_none());
        assert_eq!(store.page("", None, Direction::Asc, 0, 10).0, 0);
    }

    #[test]
    fn supabase_pages_overlap_and_skip_inside_runs_of_equal_created_at() {
        let mut store = Store::new(Flavor::Supabase);
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut u = User::new("a", &format!("u{i}@x.test"), "");
            u.created_at = 1_000;
            ids.push(u.id);
            store.insert(u).expect("insert");
        }
        let mut later = User::new("a", "later@x.test", "");
        later.created_at = 2_000;
        store.insert(later.clone()).expect("insert");
        let page = |offset, limit| -> Vec<Uuid> {
            let (total, users) = store.page("a", None, Direction::Asc, offset, limit);
            assert_eq!(total, 6);
            users.iter().map(|u| u.id).collect()
        };
        // One page holding everyone is complete and in insertion order.
        let mut all = ids.clone();
        all.push(later.id);
        assert_eq!(page(0, 10), all);
        // Pages of two: the run of five equal timestamps shifts by half the offset.
        assert_eq!(page(0, 2), [ids[0], ids[1]]);
        assert_eq!(page(2, 2), [ids[3], ids[4]]);
        assert_eq!(page(4, 2), [ids[1], later.id]);
        let seen: Vec<Uuid> = [page(0, 2), page(2, 2), page(4, 2)].concat();
        assert!(!seen.contains(&ids[2]), "a user is skipped");
        assert_eq!(
            seen.iter().filter(|id| **id == ids[1]).count(),
            2,
            "one is listed twice"
        );
        let (_, desc) = store.page("a", None, Direction::Desc, 0, 1);
        assert_eq!(desc[0].id, later.id);
    }

    #[test]
    fn supabase_addresses_are_unique_across_audiences() {
        let mut store = Store::new(Flavor::Supabase);
        store
            .insert(User::new("one", "a@x.test", ""))
            .expect("insert");
        assert!(store.find_by_email("two", "A@x.test").is_some());
        let mut netlify = Store::new(Flavor::Netlify);
        netlify
            .insert(User::new("one", "a@x.test", ""))
            .expect("insert");
        assert!(netlify.find_by_email("two", "a@x.test").is_none());
    }

    #[test]
    fn refresh_reuse_allows_the_parent_and_revokes_on_a_grandparent() {
        let mut store = Store::new(Flavor::Supabase);
        let user = Uuid::new_v4();
        let (first, session) = store.issue_refresh(user);
        let Rotation::Rotated(second) = store.rotate_refresh(&first) else {
            panic!("the active token rotates");
        };
        assert_eq!(
            store.rotate_refresh(&first),
            Rotation::Reused(second.clone())
        );
        let Rotation::Rotated(third) = store.rotate_refresh(&second) else {
            panic!("the active token rotates");
        };
        assert!(store.session_alive(&session));
        assert_eq!(store.rotate_refresh(&first), Rotation::AlreadyUsed);
        assert!(!store.session_alive(&session));
        assert_eq!(store.rotate_refresh(&third), Rotation::NotFound);
    }
}
