//! A metadata object (`app_metadata`, `user_metadata`) kept as JSON text, and read from that
//! text without building a map: a listed user's as the server sent it, a manifest entry's as
//! written from its YAML.
//!
//! A listing of 100,000 users held each user's two metadata objects as maps: about 1.2 kB
//! per user for a few short keys, most of a plan's memory and a third of its listing time.
//! The text is one allocation the size of the object; the few reads a plan makes (the
//! ownership marker, `roles`, the keys a manifest declares) scan it in place. A manifest's
//! declared objects had the same cost, five allocations for an object of one key.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// `app_metadata` or `user_metadata` of a server user or a manifest entry: the object's JSON
/// text, `None` when it is `null` or an empty object. Reads follow the rules of a map parsed
/// from the same text: a key given twice keeps its first place and its last value.
///
/// The text is always one JSON object: it is checked when received, or written here from a
/// map, so reading it again cannot fail.
#[derive(Clone, Default)]
pub struct Metadata(Option<Box<RawValue>>);

impl Metadata {
    /// Whether the object has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The value of `key` as JSON text, if present (its last value, if given twice).
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        let [value] = self.get_each([key]);
        value
    }

    /// The values of several keys, found in one pass over the text.
    pub fn get_each<const N: usize>(&self, keys: [&str; N]) -> [Option<&RawValue>; N] {
        let Some(raw) = self.0.as_deref() else {
            return [None; N];
        };
        serde_json::Deserializer::from_str(raw.get())
            .deserialize_map(LookupEach { keys })
            .unwrap_or([None; N])
    }

    /// The value of `key`, parsed.
    pub fn value(&self, key: &str) -> Option<Value> {
        self.get(key).map(parsed)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The entries in order of first appearance, each with its last value, as the JSON text
    /// of the value. Keys borrow from the text unless they hold escapes.
    pub fn entries(&self) -> Vec<(Cow<'_, str>, &RawValue)> {
        let Some(raw) = self.0.as_deref() else {
            return Vec::new();
        };
        serde_json::Deserializer::from_str(raw.get())
            .deserialize_map(Entries)
            .unwrap_or_default()
    }

    /// The entries whose value is not `null`, parsed: the keys a manifest's object sets (a
    /// declared `null` means "must not exist").
    pub fn set_entries(&self) -> impl Iterator<Item = (String, Value)> + '_ {
        self.entries()
            .into_iter()
            .filter(|(_, value)| value.get() != "null")
            .map(|(key, value)| (key.into_owned(), parsed(value)))
    }

    /// The object as a map.
    pub fn to_map(&self) -> Map<String, Value> {
        self.0
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }

    /// The object as it was received (`{}` when empty).
    pub fn json(&self) -> &str {
        self.0.as_deref().map_or("{}", RawValue::get)
    }

    /// The object `map` serializes to, written as text without building a [`Map`] first.
    /// Anything that does not serialize to a JSON object reads as empty.
    pub fn from_serialized_map(map: &impl Serialize) -> Self {
        match serde_json::value::to_raw_value(map) {
            Ok(raw) if raw.get().starts_with('{') => Metadata::from_object_text(raw),
            _ => Metadata(None),
        }
    }

    fn from_object_text(raw: Box<RawValue>) -> Self {
        let inside = raw.get()[1..].trim_start_matches([' ', '\t', '\n', '\r']);
        Metadata((!inside.starts_with('}')).then_some(raw))
    }
}

impl From<Map<String, Value>> for Metadata {
    fn from(map: Map<String, Value>) -> Self {
        if map.is_empty() {
            return Metadata(None);
        }
        Metadata::from_serialized_map(&map)
    }
}

impl<'de> Deserialize<'de> for Metadata {
    /// Reads `null` as empty and refuses anything but an object or `null`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Some(raw) = Option::<Box<RawValue>>::deserialize(d)? else {
            return Ok(Metadata(None));
        };
        let unexpected = match raw.get().as_bytes().first() {
            Some(b'{') => {
                // The raw value was only skipped over, which lets a lone surrogate escape or
                // a number out of range through; every later read parses, and would read
                // such an object as empty. A listing holding one is refused, as a parsed
                // map refused it.
                if may_fail_a_full_parse(raw.get().as_bytes()) {
                    serde_json::Deserializer::from_str(raw.get())
                        .deserialize_any(Checked)
                        .map_err(de::Error::custom)?;
                }
                return Ok(Metadata::from_object_text(raw));
            }
            Some(b'[') => de::Unexpected::Seq,
            Some(b'"') => de::Unexpected::Other("string"),
            Some(b't') => de::Unexpected::Bool(true),
            Some(b'f') => de::Unexpected::Bool(false),
            _ => de::Unexpected::Other("number"),
        };
        Err(de::Error::invalid_type(
            unexpected,
            &"a JSON object or null",
        ))
    }
}

impl Serialize for Metadata {
    /// As the map it reads as: a repeated key once.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

impl PartialEq for Metadata {
    /// Equal as maps: key order and spacing do not count.
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json() || self.to_map() == other.to_map()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_map(), f)
    }
}

/// A JSON value's text, parsed. The text comes from a [`Metadata`], so it is valid JSON.
pub fn parsed(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// The string a JSON value holds, if it is a string: borrowed from the text unless it has
/// escapes.
pub fn as_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// The strings of a JSON array of strings; `None` for anything else.
pub fn strings(raw: &RawValue) -> Option<Vec<String>> {
    serde_json::from_str(raw.get()).ok()
}

/// Whether a JSON value's text holds `value`, comparing as [`Value`] does (so `1` and `1.0`
/// differ). Strings, booleans and `null` are compared on the text.
pub fn holds(raw: &RawValue, value: &Value) -> bool {
    match value {
        Value::String(text) => as_str(raw).is_some_and(|stored| stored == text.as_str()),
        Value::Null => raw.get() == "null",
        Value::Bool(true) => raw.get() == "true",
        Value::Bool(false) => raw.get() == "false",
        Value::Number(_) | Value::Array(_) | Value::Object(_) => parsed(raw) == *value,
    }
}

/// Whether two JSON values' texts hold the same value, comparing as [`Value`] does. Equal
/// texts and strings are compared without parsing.
pub fn same_value(left: &RawValue, right: &RawValue) -> bool {
    if left.get() == right.get() {
        return true;
    }
    match (as_str(left), as_str(right)) {
        (Some(left), Some(right)) => left == right,
        (None, None) => parsed(left) == parsed(right),
        _ => false,
    }
}

/// For a JSON array of strings: whether it holds exactly the strings of `wanted`, as sets.
/// `None` when it is not an array of strings, or `wanted` is too long to track without
/// allocating (more than 128 entries); the caller then compares parsed values.
pub fn same_string_set(raw: &RawValue, wanted: &[String]) -> Option<bool> {
    if wanted.len() > 128 {
        return None;
    }
    serde_json::Deserializer::from_str(raw.get())
        .deserialize_seq(StringSet { wanted })
        .ok()
}

/// Whether valid JSON text could still fail a full parse: only a `\u` escape (a lone
/// surrogate) or a number beyond `f64` (an exponent, or hundreds of digits) can. Checking
/// every object with [`Checked`] cost a listing of 100k users a tenth of a second of CPU;
/// this scan finds neither in metadata that has none.
fn may_fail_a_full_parse(text: &[u8]) -> bool {
    let mut digits = 0usize;
    let mut before = 0u8;
    for &byte in text {
        if byte.is_ascii_digit() {
            digits += 1;
            // f64 ends near 1.8e308; a run this long may be beyond it.
            if digits >= 300 {
                return true;
            }
        } else {
            if (before == b'\\' && byte == b'u') || (digits > 0 && (byte | 0x20) == b'e') {
                return true;
            }
            digits = 0;
        }
        before = byte;
    }
    false
}

/// Reads a JSON value to its end as a parse into a `Value` would (every string unescaped,
/// every number in range), keeping nothing.
struct Checked;

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(Checked)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Checked)?.is_some() {
            map.next_value_seed(Checked)?;
        }
        Ok(())
    }
}

/// Finds the last value of each of several keys; other values are skipped unread.
struct LookupEach<'k, const N: usize> {
    keys: [&'k str; N],
}

impl<'de, const N: usize> Visitor<'de> for LookupEach<'_, N> {
    type Value = [Option<&'de RawValue>; N];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = [None; N];
        while let Some(place) = map.next_key_seed(KeyAmong(&self.keys))? {
            match place {
                Some(place) => found[place] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// Reads a key and tells which of the sought keys it is, without copying it.
struct KeyAmong<'s, 'k>(&'s [&'k str]);

impl<'de> DeserializeSeed<'de> for KeyAmong<'_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyAmong<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == key))
    }
}

/// A string borrowed from the text where it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

/// Objects with more keys than this find repeated keys through a hash map rather than a scan.
const SCANNED_KEYS: usize = 16;

/// Every entry, a repeated key in its first place with its last value.
struct Entries;

impl<'de> Visitor<'de> for Entries {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Self::Value = Vec::new();
        let mut places: HashMap<Cow<'de, str>, usize> = HashMap::new();
        while let Some(Text(key)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            let place = if entries.len() < SCANNED_KEYS {
                entries.iter().position(|(k, _)| *k == key)
            } else {
                if places.is_empty() {
                    places.extend(entries.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)));
                }
                places.get(&key).copied()
            };
            match place {
                Some(place) => entries[place].1 = value,
                None => {
                    if !places.is_empty() {
                        places.insert(key.clone(), entries.len());
                    }
                    entries.push((key, value));
                }
            }
        }
        Ok(entries)
    }
}

/// Compares an array with a set of strings, marking which of them it holds in a bit mask.
struct StringSet<'w> {
    wanted: &'w [String],
}

impl<'de> Visitor<'de> for StringSet<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<bool, A::Error> {
        let mut held: u128 = 0;
        let mut only_wanted = true;
        while let Some(Text(item)) = items.next_element()? {
            // Every place holding this string is marked, so a string wanted twice counts.
            let mut found = false;
            for (place, w) in self.wanted.iter().enumerate() {
                if *w == item {
                    held |= 1 << place;
                    found = true;
                }
            }
            only_wanted &= found;
        }
        let every = if self.wanted.len() == 128 {
            u128::MAX
        } else {
            (1u128 << self.wanted.len()) - 1
        };
        Ok(only_wanted && held == every)
    }
}

#[cfg(test)]
mod tests;
