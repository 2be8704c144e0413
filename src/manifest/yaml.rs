//! A YAML document as a tree of values that each remember where they were written.
//!
//! Deserializing straight into the typed manifest would stop at the first problem and lose
//! the location of values that are valid YAML but wrong for us (a bad e-mail, a duplicate).
//! Reading into this tree first lets validation report every problem at once with its
//! file, line and column.
//!
//! Scalars are resolved with the YAML 1.2 core schema: only `true`/`false` are booleans, so
//! `NO`, `yes` or `off` stay text. The parser's size budgets are lifted (a manifest of a
//! million users is a legitimate file) except for alias expansion, which is bounded by the
//! size of the file so that a few lines of anchors cannot expand into billions of nodes.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Location, Spanned};

/// Events alias expansion may replay in any file, however small: plenty for anchors that
/// share a few metadata maps between users.
const MIN_ALIAS_REPLAY: usize = 100_000;

/// Why a file could not be read as YAML.
#[derive(Debug)]
pub struct YamlError {
    /// Where the parser stopped.
    pub location: Location,
    /// What went wrong, in one line.
    pub message: String,
    /// Whether alias expansion went over its bound (a "billion laughs" file).
    pub alias_bomb: bool,
}

/// Parses `source` into a located tree.
pub fn parse(source: &str) -> Result<Node, YamlError> {
    // Replaying an alias costs about as much as the text it stands for, so a quarter of the
    // file's size in events is far beyond what sharing metadata needs, and keeps memory
    // proportional to the file.
    let replay_limit = (source.len() / 4).max(MIN_ALIAS_REPLAY);
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: usize::MAX,
            max_nodes: usize::MAX,
            max_total_scalar_bytes: usize::MAX,
            max_aliases: usize::MAX,
            max_anchors: usize::MAX,
            max_recorded_anchor_events: replay_limit,
            enforce_alias_anchor_ratio: false,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: replay_limit,
        },
        strict_booleans: true,
        emit_comments: false,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options(source, options).map_err(|error| {
        let location = error.location().unwrap_or(Location::UNKNOWN);
        let alias_bomb = is_alias_bomb(&error);
        let message = if alias_bomb {
            format!("YAML aliases expand to more than {replay_limit} nodes")
        } else {
            let text = error.to_string();
            text.lines().next().unwrap_or_default().to_owned()
        };
        YamlError {
            location,
            message,
            alias_bomb,
        }
    })
}

/// The text a scalar was written as (for an alias, where its anchor was defined).
pub fn scalar_text<'s>(source: &'s str, node: &Node) -> Option<&'s str> {
    let span = node.defined.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    source.get(start..start.checked_add(len)?)
}

fn is_alias_bomb(error: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error;
    let mut error = error;
    while let Error::AliasError { error: inner, .. } | Error::WithSnippet { error: inner, .. } =
        error
    {
        error = inner;
    }
    matches!(
        error,
        Error::AliasReplayLimitExceeded { .. }
            | Error::AliasExpansionLimitExceeded { .. }
            | Error::AliasReplayStackDepthExceeded { .. }
            | Error::AliasReplayCounterOverflow { .. }
            | Error::Budget {
                breach: BudgetBreach::RecordedAnchorEvents { .. }
                    | BudgetBreach::RecordedAnchorBytes { .. },
                ..
            }
    )
}

/// A YAML node and where it starts.
pub type Node = Spanned<NodeValue>;

/// The value of a YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer or a float.
    Number(serde_json::Number),
    /// A string scalar.
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, keys with their own locations.
    Map(Vec<(Spanned<String>, Node)>),
}

impl NodeValue {
    /// The YAML type name used in diagnostics.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Number(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The same value as JSON (locations dropped).
    pub fn to_json(&self) -> Value {
        match self {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => {
                Value::Array(items.iter().map(|n| n.value.to_json()).collect())
            }
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.clone(), v.value.to_json()))
                    .collect(),
            ),
        }
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        serde_json::Number::from_f64(v)
            .map(NodeValue::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(NodeValue::Map(entries))
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_locations_of_nested_values() {
        let text = "version: 1\nusers:\n  - email: a@example.com\n    roles: [x]\n";
        let node: Node = serde_saphyr::from_str(text).expect("valid yaml");
        let NodeValue::Map(entries) = &node.value else {
            panic!("expected a map")
        };
        let (key, users) = &entries[1];
        assert_eq!(key.value, "users");
        assert_eq!(key.referenced.line(), 2);
        let NodeValue::Seq(items) = &users.value else {
            panic!("expected a list")
        };
        let NodeValue::Map(user) = &items[0].value else {
            panic!("expected a map")
        };
        assert_eq!(user[0].1.value, NodeValue::String("a@example.com".into()));
        assert_eq!(user[0].1.referenced.line(), 3);
        assert_eq!(user[0].1.referenced.column(), 12);
        assert_eq!(user[1].0.referenced.line(), 4);
    }

    #[test]
    fn duplicate_keys_are_rejected_by_the_parser() {
        let err = serde_saphyr::from_str::<Node>("name: a\nname: b\n").expect_err("duplicate");
        assert_eq!(err.location().map(|l| l.line()), Some(2));
    }
}
