//! A YAML document as a tree of values that each remember where they were written, built in
//! one pass over the parser's events.
//!
//! Validation reports every problem at once with its file, line and column, so it walks a
//! tree rather than deserializing straight into the typed manifest (which would stop at the
//! first problem). The tree is lean: scalars borrow their text from the source where YAML
//! allows, and each node keeps only the line and column where it starts.
//!
//! Most manifests are read by a fast reader of our own (`fast`) for the plain block style
//! they are written in; anything else goes to granit-parser, with the same result.
//!
//! Plain scalars are resolved with the YAML 1.2 core schema: only `true`/`false` are
//! booleans (so `NO`, `yes` or `off` stay text), and a number whose spelling would not
//! survive a round trip through JSON (`012345`, `+49…`, `1.0`, `1e3`, beyond 2^53) is kept
//! apart as [`NodeValue::InexactNumber`] so that validation can ask for quotes. There is no
//! budget on the size of a document, only on what aliases may expand to: a few lines of
//! anchors must not become billions of nodes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use granit_parser::{Event, Marker, Options, Parser, ScalarStyle, ScanError, StructureStyle, Tag};
use serde_json::Number;

mod fast;

pub(crate) use fast::{users_split, UsersSplit};

/// Nodes alias expansion may copy in any file, however small: plenty for anchors that share
/// a few metadata maps between users.
const MIN_ALIAS_NODES: usize = 100_000;

/// Deepest nesting of lists and mappings accepted; a manifest needs five levels or so, and
/// the bound keeps the recursive checks off the end of the stack.
const MAX_DEPTH: usize = 64;

/// A position in the source: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    line: u32,
    column: u32,
}

impl Mark {
    /// An unknown position (line 0): diagnostics then point at the file as a whole.
    pub const UNKNOWN: Mark = Mark { line: 0, column: 0 };

    fn from_marker(marker: &Marker) -> Self {
        Mark {
            line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
            column: u32::try_from(marker.col().saturating_add(1)).unwrap_or(u32::MAX),
        }
    }

    /// 1-based line.
    pub fn line(&self) -> u64 {
        u64::from(self.line)
    }

    /// 1-based column.
    pub fn column(&self) -> u64 {
        u64::from(self.column)
    }
}

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'s> {
    /// The value.
    pub value: NodeValue<'s>,
    /// Where it is written (for an alias, where the alias is).
    pub referenced: Mark,
}

/// A mapping key (always read as text) and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Key<'s> {
    /// The key's text.
    pub value: Cow<'s, str>,
    /// Where it is written.
    pub referenced: Mark,
}

/// The value of a YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue<'s> {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number written the way JSON prints it.
    Number(Number),
    /// A plain scalar the core schema reads as a number, but whose spelling a JSON number
    /// would not keep (leading zeros, `+`, `1.0`, exponents, `.inf`, beyond 2^53).
    InexactNumber,
    /// A string scalar.
    String(Cow<'s, str>),
    /// A sequence.
    Seq(Vec<Node<'s>>),
    /// A mapping, in document order, keys with their own locations.
    Map(Vec<(Key<'s>, Node<'s>)>),
}

impl NodeValue<'_> {
    /// The YAML type name used in diagnostics.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Number(_) | NodeValue::InexactNumber => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a mapping",
        }
    }
}

/// Why a file could not be read as YAML.
#[derive(Debug)]
pub struct YamlError {
    /// Where the parser stopped.
    pub location: Mark,
    /// What went wrong, in one line.
    pub message: String,
    /// Whether alias expansion went over its bound (a "billion laughs" file).
    pub alias_bomb: bool,
}

impl YamlError {
    fn at(location: Mark, message: impl Into<String>) -> Self {
        YamlError {
            location,
            message: message.into(),
            alias_bomb: false,
        }
    }

    fn scan(error: &ScanError) -> Self {
        let info = error.info();
        YamlError::at(
            Mark::from_marker(error.marker()),
            info.lines().next().unwrap_or_default(),
        )
    }
}

/// Files from this size on that the fast reader leaves to granit-parser are parsed on a
/// second thread while the tree is built (and its users checked) on the calling one: the
/// parser's own work is about half of loading a large manifest. On the benchmark's two vCPUs
/// this cut `validate` of 100k users from about 0.9 s to 0.65 s of wall time when a core was
/// free, for about a tenth more CPU (BENCHMARKS.md). Smaller files, or a single core, are not
/// worth a thread.
const PIPELINE_MIN_BYTES: usize = 256 * 1024;

/// Events handed from the parser's thread to the builder at once: a batch amortises the
/// channel and the threads' waking each other, and 4096 events of a manifest are about 400
/// users.
const BATCH: usize = 4096;

/// Receives each item of the top-level `users` list, with its index, as soon as the item is
/// complete; the item is then not kept in the tree.
pub type UserSink<'f, 's> = &'f mut dyn FnMut(usize, Node<'s>);

/// A parsed document.
#[derive(Debug)]
pub struct Parsed<'s> {
    /// The root node.
    pub root: Node<'s>,
    /// Whether the items of the top-level `users` list went to the sink (the list in `root`
    /// is then empty). They do when the list is written in place: not an alias, not merged
    /// in with `<<`, without an anchor of its own.
    pub users_streamed: bool,
}

/// Parses `source` (one YAML document) into a located tree, handing the items of the
/// top-level `users` list to `users` as they are read when it is given.
pub fn parse<'s>(
    source: &'s str,
    users: Option<UserSink<'_, 's>>,
) -> Result<Parsed<'s>, YamlError> {
    parse_on(
        source,
        users,
        worth_a_second_thread(source.len(), PIPELINE_MIN_BYTES),
    )
}

/// Whether reading `len` bytes is worth a second thread: at least `min_bytes`, and a second
/// core to run it on. The cores are asked about only for a large file, since the answer
/// reads the process's CPU affinity and cgroup limits.
pub(crate) fn worth_a_second_thread(len: usize, min_bytes: usize) -> bool {
    len >= min_bytes && std::thread::available_parallelism().is_ok_and(|cores| cores.get() > 1)
}

/// [`parse`], on two threads or one.
pub(crate) fn parse_on<'s>(
    source: &'s str,
    users: Option<UserSink<'_, 's>>,
    two_threads: bool,
) -> Result<Parsed<'s>, YamlError> {
    // The fast reader runs on the calling thread: on a second one (the tree built there and
    // finished users handed over in batches) `validate` of 100k users took as long on two
    // cores and about half as much CPU time again.
    let mut builder = Builder::new(source, users);
    let scan = fast::scan(source, |event, at| builder.event(event, at))?;
    let delivered = builder.users_seen;
    let mut users = builder.users.take();
    let parsed = builder.finish();
    if scan == fast::Scan::Complete {
        return Ok(parsed);
    }
    // Outside the fast reader's subset: granit-parser reads the file from the start. Its
    // first events are the ones the fast reader emitted, so the users already handed over
    // are the same and are not handed over again.
    let streaming = users.is_some();
    let mut rest = |index: usize, node: Node<'s>| {
        if let (true, Some(sink)) = (index >= delivered, users.as_mut()) {
            sink(index, node);
        }
    };
    let mut builder = Builder::new(source, streaming.then_some(&mut rest as UserSink<'_, 's>));
    if !two_threads {
        builder.run(events(source))?;
        return Ok(builder.finish());
    }
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Located<'s>>>(4);
        let parser = std::thread::Builder::new()
            .name("yaml".into())
            .spawn_scoped(scope, move || {
                let mut batch = Vec::with_capacity(BATCH);
                for event in events(source) {
                    let failed = event.is_err();
                    batch.push(event);
                    if batch.len() == BATCH || failed {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        // The builder has stopped (an error of its own): so can the parser.
                        if sender.send(full).is_err() || failed {
                            return;
                        }
                    }
                }
                // Nothing to do if the builder has stopped.
                let _ = sender.send(batch);
            });
        match parser {
            Ok(_) => builder.run(receiver.into_iter().flatten())?,
            // No thread to be had: parse here.
            Err(_) => builder.run(events(source))?,
        }
        Ok(builder.finish())
    })
}

/// Reads the head of a manifest cut at `split` (`head` is the file up to it) with the fast
/// reader alone, handing the users over as [`parse`] does. `None` if the fast reader could
/// not read it whole, the builder refused it, or its `users` list is not the one `split`
/// cuts: the caller then reads the whole file with [`parse`], which reports any error.
///
/// `given_up` is shared with the tail's read: each half stops at its next event once the
/// other has given up, and raises it when it gives up itself, so that neither reads on
/// for nothing before the whole file is read.
pub(crate) fn read_head<'s>(
    head: &'s str,
    split: UsersSplit,
    given_up: &AtomicBool,
    users: UserSink<'_, 's>,
) -> Option<Parsed<'s>> {
    let mut builder = Builder::new(head, Some(users));
    let scan = fast::scan(head, |event, at| {
        unless_given_up(given_up, at, &mut builder, event)
    });
    let whole =
        matches!(scan, Ok(fast::Scan::Complete)) && builder.users_seen == split.items_before;
    let parsed = builder.finish();
    let read = whole && parsed.users_streamed;
    if !read {
        given_up.store(true, Ordering::Relaxed);
    }
    read.then_some(parsed)
}

/// Reads the items of the `users` list from `split` to the end of `source` with the fast
/// reader, handing them over with their indices in the whole list; whether it read them all.
/// `given_up`: as for [`read_head`].
pub(crate) fn read_users_tail<'s>(
    source: &'s str,
    split: UsersSplit,
    given_up: &AtomicBool,
    users: UserSink<'_, 's>,
) -> bool {
    let mut builder = Builder::new(source, Some(users));
    builder.users_seen = split.items_before;
    // The root mapping and its `users` key, as the head read them.
    let opened = builder
        .event(
            Event::MappingStart(StructureStyle::Block, 0, None),
            Mark::UNKNOWN,
        )
        .and_then(|()| {
            builder.event(
                Event::Scalar(Cow::Borrowed("users"), ScalarStyle::Plain, 0, None),
                Mark::UNKNOWN,
            )
        });
    let read = opened.is_ok()
        && matches!(
            fast::scan_users_tail(source, split, |event, at| {
                unless_given_up(given_up, at, &mut builder, event)
            }),
            Ok(fast::Scan::Complete)
        )
        && builder.users_streamed;
    if !read {
        given_up.store(true, Ordering::Relaxed);
    }
    read
}

/// Hands `event` to `builder`, unless the other half's read has given up.
fn unless_given_up<'s>(
    given_up: &AtomicBool,
    at: Mark,
    builder: &mut Builder<'_, 's>,
    event: Event<'s>,
) -> Result<(), YamlError> {
    if given_up.load(Ordering::Relaxed) {
        return Err(YamlError::at(
            at,
            "the other half of the file could not be read",
        ));
    }
    builder.event(event, at)
}

/// What reading `source` gave: the root and whether the users were streamed, or the error's
/// place and message; and the users handed over, with their indices.
type Reading<'s> = (
    Result<(Node<'s>, bool), (Mark, String)>,
    Vec<(usize, Node<'s>)>,
);

/// Which reader [`reading`] uses.
#[derive(Clone, Copy)]
enum Reader {
    /// granit-parser alone.
    Granit,
    /// The fast reader, falling back to granit-parser as [`parse`] does, on one thread or two.
    Fast { two_threads: bool },
}

fn reading(source: &str, reader: Reader) -> Reading<'_> {
    let mut items = Vec::new();
    let mut sink = |index, node| items.push((index, node));
    let parsed = match reader {
        Reader::Granit => {
            let mut builder = Builder::new(source, Some(&mut sink));
            builder.run(events(source)).map(|()| builder.finish())
        }
        Reader::Fast { two_threads } => parse_on(source, Some(&mut sink), two_threads),
    };
    let parsed = parsed
        .map(|parsed| (parsed.root, parsed.users_streamed))
        .map_err(|error| (error.location, error.message));
    (parsed, items)
}

/// What reading `source` in two halves cut at `cut` gave, as [`reading`] gives it; `None`
/// unless the fast reader read both halves whole.
fn reading_in_halves(source: &str, cut: UsersSplit) -> Option<Reading<'_>> {
    let mut items = Vec::new();
    let given_up = AtomicBool::new(false);
    let head = read_head(&source[..cut.at], cut, &given_up, &mut |index, node| {
        items.push((index, node));
    })?;
    read_users_tail(source, cut, &given_up, &mut |index, node| {
        items.push((index, node));
    })
    .then_some(())?;
    Some((Ok((head.root, head.users_streamed)), items))
}

/// Whether `source` reads the same with the fast reader (falling back as it does) as with
/// granit-parser alone: the same tree and users handed over, or the same error at the same
/// place; and read in two halves at any cut of its `users` list, whenever both are read
/// whole, the same again. The fuzz target asserts it on every input.
pub(crate) fn readers_agree(source: &str) -> bool {
    let whole = reading(source, Reader::Fast { two_threads: false });
    if whole != reading(source, Reader::Granit) {
        return false;
    }
    let mut cuts = Vec::new();
    fast::users_cuts(source, |cut, _| cuts.push(cut));
    cuts.into_iter()
        .all(|cut| reading_in_halves(source, cut).is_none_or(|halves| halves == whole))
}

/// An event with where it starts, or why parsing stopped.
type Located<'s> = Result<(Event<'s>, Mark), YamlError>;

fn events(source: &str) -> impl Iterator<Item = Located<'_>> {
    let mut options = Options::default();
    options.emit_comments = false;
    Parser::new_from_str_with_options(source, options).map(|event| {
        event
            .map(|(event, span)| (event, Mark::from_marker(&span.start)))
            .map_err(|error| YamlError::scan(&error))
    })
}

/// A collection being read.
enum Frame<'s> {
    Seq {
        at: Mark,
        anchor: usize,
        items: Vec<Node<'s>>,
        /// Whether this is the `users` list whose items go to the sink.
        streamed: bool,
    },
    Map {
        at: Mark,
        anchor: usize,
        entries: Vec<(Key<'s>, Node<'s>)>,
        /// Values of `<<` merge keys, merged in when the mapping ends.
        merges: Vec<Node<'s>>,
        /// The key read, waiting for its value.
        key: Option<PendingKey<'s>>,
    },
}

enum PendingKey<'s> {
    Key(Key<'s>),
    Merge,
}

struct Builder<'f, 's> {
    stack: Vec<Frame<'s>>,
    /// Anchored nodes by the parser's anchor id, with how many nodes each holds.
    anchors: HashMap<usize, (Node<'s>, usize)>,
    alias_nodes_left: usize,
    root: Option<Node<'s>>,
    documents: usize,
    users: Option<UserSink<'f, 's>>,
    users_streamed: bool,
    /// Items of the streamed `users` list handed over so far.
    users_seen: usize,
}

impl<'f, 's> Builder<'f, 's> {
    fn new(source: &'s str, users: Option<UserSink<'f, 's>>) -> Self {
        Builder {
            stack: Vec::new(),
            anchors: HashMap::new(),
            // Copying an alias costs about as much as the text it stands for, so nodes worth
            // a quarter of the file's size is far beyond what sharing metadata needs, and
            // keeps memory proportional to the file.
            alias_nodes_left: (source.len() / 4).max(MIN_ALIAS_NODES),
            root: None,
            documents: 0,
            users,
            users_streamed: false,
            users_seen: 0,
        }
    }

    fn run(&mut self, events: impl Iterator<Item = Located<'s>>) -> Result<(), YamlError> {
        let limit = self.alias_nodes_left;
        for event in events {
            let (event, at) = event?;
            self.event(event, at).map_err(|mut error| {
                if error.alias_bomb {
                    error.message = format!("YAML aliases expand to more than {limit} nodes");
                }
                error
            })?;
        }
        Ok(())
    }

    fn finish(self) -> Parsed<'s> {
        Parsed {
            root: self.root.unwrap_or(Node {
                value: NodeValue::Null,
                referenced: Mark::UNKNOWN,
            }),
            users_streamed: self.users_streamed,
        }
    }

    /// Whether a list opening now is the document's `users` list, written in place, whose
    /// items go to the sink.
    fn streams_users(&self, anchor: usize) -> bool {
        self.users.is_some()
            && !self.users_streamed
            && anchor == 0
            && matches!(
                self.stack.as_slice(),
                [Frame::Map {
                    key: Some(PendingKey::Key(key)),
                    ..
                }] if key.value == "users"
            )
    }

    fn event(&mut self, event: Event<'s>, at: Mark) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(YamlError::at(
                        at,
                        "a manifest is a single YAML document, found a second `---`",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = self.stack.last_mut()
                {
                    if anchor != 0 || tag.as_deref().is_some_and(|t| !is_str_tag(t)) {
                        return Err(YamlError::at(
                            at,
                            "anchors and tags on mapping keys are not supported",
                        ));
                    }
                    *key = Some(if style == ScalarStyle::Plain && text == "<<" {
                        PendingKey::Merge
                    } else {
                        PendingKey::Key(Key {
                            value: text,
                            referenced: at,
                        })
                    });
                    return Ok(());
                }
                let value = resolve(text, style, tag.as_deref(), at)?;
                self.node(
                    Node {
                        value,
                        referenced: at,
                    },
                    anchor,
                )?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.open(at, tag.as_deref(), "seq")?;
                let streamed = self.streams_users(anchor);
                self.users_streamed |= streamed;
                self.stack.push(Frame::Seq {
                    at,
                    anchor,
                    items: Vec::new(),
                    streamed,
                });
            }
            Event::MappingStart(_, anchor, tag) => {
                self.open(at, tag.as_deref(), "map")?;
                self.stack.push(Frame::Map {
                    at,
                    anchor,
                    entries: Vec::new(),
                    merges: Vec::new(),
                    key: None,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    at, anchor, items, ..
                }) = self.stack.pop()
                {
                    let value = NodeValue::Seq(items);
                    self.node(
                        Node {
                            value,
                            referenced: at,
                        },
                        anchor,
                    )?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    at,
                    anchor,
                    entries,
                    merges,
                    ..
                }) = self.stack.pop()
                {
                    let entries = merged(entries, merges)?;
                    self.node(
                        Node {
                            value: NodeValue::Map(entries),
                            referenced: at,
                        },
                        anchor,
                    )?;
                }
            }
            Event::Alias(id) => {
                let Some((node, count)) = self.anchors.get(&id) else {
                    return Err(YamlError::at(at, "alias to an unknown anchor"));
                };
                let Some(left) = self.alias_nodes_left.checked_sub(*count) else {
                    return Err(YamlError {
                        location: at,
                        message: String::new(),
                        alias_bomb: true,
                    });
                };
                self.alias_nodes_left = left;
                let mut copy = node.clone();
                copy.referenced = at;
                self.node(copy, 0)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks a collection about to open: its tag, and how deep it nests.
    fn open(&self, at: Mark, tag: Option<&Tag>, kind: &str) -> Result<(), YamlError> {
        if let Some(tag) = tag {
            if !(tag.handle() == CORE_TAGS && tag.suffix() == kind) {
                return Err(unsupported_tag(at, tag));
            }
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::at(
                at,
                format!("lists and mappings nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    /// A complete node: kept under its anchor, then added to the collection being read.
    fn node(&mut self, node: Node<'s>, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            let count = count_nodes(&node);
            self.anchors.insert(anchor, (node.clone(), count));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { streamed: true, .. }) => {
                if let Some(sink) = self.users.as_mut() {
                    sink(self.users_seen, node);
                    self.users_seen += 1;
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                merges,
                key,
                ..
            }) => match key.take() {
                Some(PendingKey::Key(key)) => entries.push((key, node)),
                Some(PendingKey::Merge) => merges.push(node),
                None => {
                    return Err(YamlError::at(
                        node.referenced,
                        "mapping keys must be text, not lists, mappings or aliases",
                    ))
                }
            },
        }
        Ok(())
    }
}

/// The entries of a mapping with its `<<` merge keys applied (keys written in the mapping
/// win over merged ones, and earlier merged mappings over later ones), refusing a key
/// written twice.
fn merged<'s>(
    mut entries: Vec<(Key<'s>, Node<'s>)>,
    merges: Vec<Node<'s>>,
) -> Result<Vec<(Key<'s>, Node<'s>)>, YamlError> {
    if let Some(again) = first_duplicate(&entries) {
        return Err(YamlError::at(
            again.referenced,
            format!("duplicate key `{}`", again.value),
        ));
    }
    for merge in merges {
        let sources = match merge.value {
            NodeValue::Map(source) => vec![source],
            NodeValue::Seq(items) => items
                .into_iter()
                .map(|item| match item.value {
                    NodeValue::Map(source) => Ok(source),
                    _ => Err(merge_error(item.referenced)),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(merge_error(merge.referenced)),
        };
        for source in sources {
            for (key, value) in source {
                if !entries.iter().any(|(k, _)| k.value == key.value) {
                    entries.push((key, value));
                }
            }
        }
    }
    Ok(entries)
}

fn merge_error(at: Mark) -> YamlError {
    YamlError::at(at, "a `<<` merge key takes a mapping or a list of mappings")
}

/// The second occurrence of a key written twice, if any.
fn first_duplicate<'k, 's>(entries: &'k [(Key<'s>, Node<'s>)]) -> Option<&'k Key<'s>> {
    // Mappings in a manifest are small, except perhaps a metadata map: compare directly
    // below a size where hashing pays off.
    if entries.len() <= 16 {
        return entries.iter().enumerate().find_map(|(i, (key, _))| {
            entries[..i]
                .iter()
                .any(|(earlier, _)| earlier.value == key.value)
                .then_some(key)
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    entries
        .iter()
        .find_map(|(key, _)| (!seen.insert(key.value.as_ref())).then_some(key))
}

fn count_nodes(node: &Node<'_>) -> usize {
    1 + match &node.value {
        NodeValue::Seq(items) => items.iter().map(count_nodes).sum(),
        NodeValue::Map(entries) => entries
            .iter()
            .map(|(_, value)| 1 + count_nodes(value))
            .sum(),
        _ => 0,
    }
}

/// The handle of the YAML core schema's tags (`!!str` is this handle and `str`).
const CORE_TAGS: &str = "tag:yaml.org,2002:";

fn is_str_tag(tag: &Tag) -> bool {
    (tag.handle() == CORE_TAGS && tag.suffix() == "str")
        || (tag.handle() == "!" && tag.suffix().is_empty())
}

fn unsupported_tag(at: Mark, tag: &Tag) -> YamlError {
    let shown = if tag.handle() == CORE_TAGS {
        format!("!!{}", tag.suffix())
    } else {
        format!("{}{}", tag.handle(), tag.suffix())
    };
    YamlError::at(
        at,
        format!("unsupported YAML tag `{shown}`: a manifest holds plain values; remove the tag (quote a value to keep it as text)"),
    )
}

/// Resolves a scalar with the YAML 1.2 core schema. Only plain scalars are typed; quoted and
/// block scalars, and scalars tagged `!!str` or `!`, are text.
fn resolve<'s>(
    text: Cow<'s, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    at: Mark,
) -> Result<NodeValue<'s>, YamlError> {
    if let Some(tag) = tag {
        return if is_str_tag(tag) {
            Ok(NodeValue::String(text))
        } else {
            Err(unsupported_tag(at, tag))
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(NodeValue::String(text));
    }
    Ok(match text.as_ref() {
        "" | "~" | "null" | "Null" | "NULL" => NodeValue::Null,
        "true" | "True" | "TRUE" => NodeValue::Bool(true),
        "false" | "False" | "FALSE" => NodeValue::Bool(false),
        plain => match core_number(plain) {
            Some(Some(number)) => NodeValue::Number(number),
            Some(None) => NodeValue::InexactNumber,
            None => NodeValue::String(text),
        },
    })
}

/// `None` if the core schema reads `text` as a string; `Some(None)` for a number whose
/// spelling JSON would not keep; `Some(Some(n))` for one it keeps.
fn core_number(text: &str) -> Option<Option<Number>> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(None);
    }
    let radix_digits = |prefix: &str, valid: fn(&u8) -> bool| {
        text.strip_prefix(prefix)
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| valid(&b)))
    };
    if radix_digits("0o", |b| (b'0'..=b'7').contains(b))
        || radix_digits("0x", u8::is_ascii_hexdigit)
    {
        return Some(None);
    }
    let number = if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        let integer = text.strip_prefix('+').unwrap_or(text);
        match (integer.parse::<u64>(), integer.parse::<i64>()) {
            (Ok(n), _) => Number::from(n),
            (_, Ok(n)) => Number::from(n),
            _ => return Some(None),
        }
    } else if is_core_float(unsigned) {
        match text.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => n,
            None => return Some(None),
        }
    } else {
        return None;
    };
    Some(prints_back(text, &number).then_some(number))
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the core schema's float without sign.
fn is_core_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty())
        }
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Whether `text` is how `number` prints: an integer without leading zeros or `+` within
/// ±2^53 (what a JSON reader keeps exactly), or a fraction in its shortest form (not `1.0`,
/// `1.50` or `1e-3`).
fn prints_back(text: &str, number: &Number) -> bool {
    const EXACT_INTEGERS: u64 = 1 << 53;
    let exact = match (number.as_u64(), number.as_i64()) {
        (Some(n), _) => n <= EXACT_INTEGERS,
        (None, Some(n)) => n.unsigned_abs() <= EXACT_INTEGERS,
        (None, None) => number.as_f64().is_some_and(|f| f.fract() != 0.0),
    };
    exact && !text.contains(['e', 'E']) && number.to_string() == text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each half of a cut file stops as soon as the other has given up, and gives up for the
    /// other when it cannot be read itself.
    #[test]
    fn a_half_stops_once_the_other_has_given_up() {
        let mut source = String::from("version: 1\nname: x\nusers:\n");
        for n in 0..10 {
            source.push_str(&format!("  - email: u{n}@example.com\n"));
        }
        let cut = users_split(&source).expect("a cut");
        let mut handed = 0;
        let given_up = AtomicBool::new(true);
        assert!(!read_users_tail(&source, cut, &given_up, &mut |_, _| {
            handed += 1
        }));
        assert!(read_head(&source[..cut.at], cut, &given_up, &mut |_, _| handed += 1).is_none());
        assert_eq!(handed, 0);

        let given_up = AtomicBool::new(false);
        assert!(read_head(&source[..cut.at], cut, &given_up, &mut |_, _| handed += 1).is_some());
        assert!(read_users_tail(&source, cut, &given_up, &mut |_, _| {
            handed += 1
        }));
        assert_eq!(handed, 10);
        assert!(!given_up.load(Ordering::Relaxed));

        // An anchor is outside the fast reader's subset.
        let anchored = source.replacen("name: x", "name: &n x", 1);
        let cut = users_split(&anchored).expect("a cut");
        assert!(read_head(&anchored[..cut.at], cut, &given_up, &mut |_, _| {}).is_none());
        assert!(given_up.load(Ordering::Relaxed));
    }

    fn parse(source: &str) -> Result<Node<'_>, YamlError> {
        super::parse(source, None).map(|parsed| parsed.root)
    }

    fn map<'n, 's>(node: &'n Node<'s>) -> &'n [(Key<'s>, Node<'s>)] {
        match &node.value {
            NodeValue::Map(entries) => entries,
            other => panic!("expected a map, found {other:?}"),
        }
    }

    #[test]
    fn keeps_locations_of_nested_values() {
        let text = "version: 1\nusers:\n  - email: a@example.com\n    roles: [x]\n";
        let node = parse(text).expect("valid yaml");
        let (key, users) = &map(&node)[1];
        assert_eq!(key.value, "users");
        assert_eq!(key.referenced.line(), 2);
        let NodeValue::Seq(items) = &users.value else {
            panic!("expected a list")
        };
        let user = map(&items[0]);
        assert_eq!(user[0].1.value, NodeValue::String("a@example.com".into()));
        assert_eq!(user[0].1.referenced.line(), 3);
        assert_eq!(user[0].1.referenced.column(), 12);
        assert_eq!(user[1].0.referenced.line(), 4);
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let error = parse("name: a\nname: b\n").expect_err("duplicate");
        assert_eq!(error.location.line(), 2);
        assert_eq!(error.message, "duplicate key `name`");
    }

    #[test]
    fn plain_scalars_resolve_with_the_core_schema() {
        let node = parse("[NO, yes, off, y, n, true, False, ~, '', 42, -7, 0.5, '012', !!str 012, 012, +1, 1.0, 1e3, 0x1F, .inf, 1_000]").expect("valid");
        let NodeValue::Seq(items) = node.value else {
            panic!("a list")
        };
        let values: Vec<NodeValue> = items.into_iter().map(|n| n.value).collect();
        let text = |s: &'static str| NodeValue::String(s.into());
        assert_eq!(
            values,
            [
                text("NO"),
                text("yes"),
                text("off"),
                text("y"),
                text("n"),
                NodeValue::Bool(true),
                NodeValue::Bool(false),
                NodeValue::Null,
                text(""),
                NodeValue::Number(42.into()),
                NodeValue::Number((-7).into()),
                NodeValue::Number(Number::from_f64(0.5).expect("finite")),
                text("012"),
                text("012"),
                NodeValue::InexactNumber,
                NodeValue::InexactNumber,
                NodeValue::InexactNumber,
                NodeValue::InexactNumber,
                NodeValue::InexactNumber,
                NodeValue::InexactNumber,
                text("1_000"),
            ]
        );
    }

    #[test]
    fn aliases_and_merge_keys_expand() {
        let node = parse("a: &m { x: 1, y: 2 }\nb: *m\nc:\n  <<: *m\n  y: 3\n").expect("valid");
        let entries = map(&node);
        assert_eq!(entries[1].1.value, entries[0].1.value);
        assert_eq!(entries[1].1.referenced.line(), 2);
        let merged: Vec<(&str, &NodeValue)> = map(&entries[2].1)
            .iter()
            .map(|(k, v)| (k.value.as_ref(), &v.value))
            .collect();
        assert_eq!(
            merged,
            [
                ("y", &NodeValue::Number(3.into())),
                ("x", &NodeValue::Number(1.into()))
            ]
        );
    }

    #[test]
    fn a_billion_laughs_is_refused_as_such() {
        let mut text = String::from("l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n");
        for level in 1..10 {
            let refs = vec![format!("*l{}", level - 1); 10].join(", ");
            text.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
        }
        let error = parse(&text).expect_err("refused");
        assert!(error.alias_bomb);
        assert!(error
            .message
            .starts_with("YAML aliases expand to more than 100000 nodes"));
    }

    #[test]
    fn deep_nesting_tags_and_second_documents_are_refused() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep)
            .expect_err("deep")
            .message
            .contains("deeper than 64"));
        assert!(parse("a: !!binary aGk=\n")
            .expect_err("tag")
            .message
            .contains("unsupported YAML tag `!!binary`"));
        assert!(parse("a: 1\n---\nb: 2\n")
            .expect_err("two documents")
            .message
            .contains("single YAML document"));
    }

    fn fast(two_threads: bool) -> Reader {
        Reader::Fast { two_threads }
    }

    #[test]
    fn the_fast_reader_builds_what_granit_does_and_hands_each_user_over_once() {
        let user = |i: usize| {
            format!("  - email: u{i}@example.com\n    roles: [a, 'b']\n    user_metadata:\n      n: {i}\n      s: \"é{i}\"\n")
        };
        let document = |odd: &str| {
            let mut text = String::from("version: 1\nname: x\nusers:\n");
            for i in 0..5_000 {
                text.push_str(&user(i));
                if i == 2_500 {
                    text.push_str(odd);
                }
            }
            text.push_str("policy: { prune: none }\n");
            text
        };
        let variants = [
            // Read to the end by the fast reader.
            document(""),
            // Outside its subset halfway: granit-parser reads it again.
            document("    note: |\n      a block scalar\n"),
            // A duplicate key halfway, refused by the builder.
            document("    roles: [c]\n"),
            // A syntax error halfway.
            document("  - [unclosed\n"),
        ];
        assert!(variants[0].len() > PIPELINE_MIN_BYTES);
        let fast_read = |text: &str| {
            let mut builder = Builder::new(text, None);
            fast::scan(text, |event, at| builder.event(event, at)).ok()
        };
        let (complete, bailed) = (Some(fast::Scan::Complete), Some(fast::Scan::Bailed));
        let how = variants
            .iter()
            .map(|text| fast_read(text))
            .collect::<Vec<_>>();
        assert_eq!(how, [complete, bailed, None, bailed]);
        for (variant, text) in variants.iter().enumerate() {
            for two_threads in [false, true] {
                let reference = reading(text, Reader::Granit);
                assert!(reference.1.len() > 2_000, "variant {variant}");
                assert_eq!(reading(text, fast(two_threads)), reference);
            }
        }
    }

    /// The builder refuses some documents the fast reader reads (a repeated key, nesting
    /// too deep): its refusal must come at the event granit-parser would have reached, or
    /// the file's first error would not be granit-parser's.
    #[test]
    fn a_refusal_during_the_fast_read_is_the_error_granit_would_give() {
        for text in [
            "a: {b: 1, b: 2}\n]\n",
            "a: {b: 1, b: 2}\n@\n",
            "a: [x]\n]\n",
            "a: {b: 1, b: 2}\nc: 1\n",
            "a: 1\na: 2\n",
        ] {
            assert_eq!(reading(text, fast(false)), reading(text, Reader::Granit));
        }
    }

    #[test]
    fn two_threads_build_what_one_does() {
        let mut text = String::from("version: 1\nbase: &b { team: x, n: 1 }\nusers:\n");
        for i in 0..5_000 {
            text.push_str(&format!(
                "  - email: u{i}@example.com\n    roles: [a, 'b']\n    user_metadata: {{ <<: *b, n: {i}, s: \"é{i}\" }}\n"
            ));
        }
        let broken = format!("{text}  - [unclosed\n");
        assert!(text.len() > PIPELINE_MIN_BYTES);
        let (one, one_items) = reading(&text, fast(false));
        let (two, two_items) = reading(&text, fast(true));
        let (root, streamed) = one.expect("valid");
        assert!(streamed);
        assert_eq!(two.expect("valid"), (root, true));
        assert_eq!(one_items.len(), 5_000);
        assert_eq!(one_items, two_items);
        let (one, _) = reading(&broken, fast(false));
        let (two, _) = reading(&broken, fast(true));
        assert_eq!(one.expect_err("broken"), two.expect_err("broken"));
    }
}
