//! A reader for the plain block-style YAML that manifests are written in, several times
//! faster than the general parser, producing the same events with the same positions.
//!
//! It reads a deliberately small subset: block mappings and sequences laid out by spaces,
//! one-line plain and quoted scalars (common escapes only), one-line flow lists and mappings,
//! comments, and a `---` on the first content line. On anything else (anchors, aliases,
//! tags, block scalars, multi-line scalars, empty values, `?` keys, tabs, carriage returns,
//! unusual characters, any syntax error…) it gives up, and the caller parses the file with
//! granit-parser from the start: every error message and every unusual document stays
//! granit-parser's. The events it has emitted before giving up are exactly granit-parser's
//! first events (the differential tests in `tests.rs` check this), so a caller may keep
//! what it built from them.

use std::borrow::Cow;

use granit_parser::{Event, ScalarStyle, StructureStyle};

use super::{Mark, YamlError};

/// How a fast read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    /// The whole document was read.
    Complete,
    /// Outside the subset: the document must be parsed by granit-parser.
    Bailed,
}

/// Why reading stopped early.
enum Stop {
    /// Outside the subset.
    Bail,
    /// The receiver of the events refused one.
    Refused(YamlError),
}

type Step<T = ()> = Result<T, Stop>;

/// Nesting beyond which the reader gives up; the builder refuses far less (64 levels), so
/// this only bounds the reader's own recursion when nothing else does.
const MAX_DEPTH: usize = 128;

/// Simple keys longer than this are left to granit-parser, which bounds them (1024 chars).
const MAX_KEY_BYTES: usize = 1000;

/// Reads `source`, handing each event with where it starts to `emit`, which may refuse one
/// (the reading then stops with its error). Only node events are emitted: stream and
/// document events carry nothing a one-document manifest needs.
pub(super) fn scan<'s>(
    source: &'s str,
    emit: impl FnMut(Event<'s>, Mark) -> Result<(), YamlError>,
) -> Result<Scan, YamlError> {
    if !plain_text(source.as_bytes()) {
        return Ok(Scan::Bailed);
    }
    let mut reader = Reader {
        source,
        bytes: source.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        eol: 0,
        counted: (0, 0),
        depth: 0,
        open: Vec::new(),
        pending: Vec::new(),
        emit,
    };
    match reader.document() {
        Ok(()) => Ok(Scan::Complete),
        Err(Stop::Bail) => Ok(Scan::Bailed),
        Err(Stop::Refused(error)) => Err(error),
    }
}

/// Where a large manifest is cut in two for reading on two threads: the start of an item of
/// its top-level `users` list, which runs in block style to the end of the file. The head
/// (the file up to the cut) is read by [`scan`], the tail by [`scan_users_tail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UsersSplit {
    /// The byte offset where the item's line starts.
    pub(crate) at: usize,
    /// That line's number, 1-based.
    pub(crate) line: u32,
    /// The column of the list's `-`, 0-based.
    pub(crate) indent: usize,
    /// The items of the list before the cut.
    pub(crate) items_before: usize,
}

/// Finds by the text alone the first item of the `users` list at or after the list's middle,
/// when the list is written last (see [`users_cuts`]).
pub(crate) fn users_split(source: &str) -> Option<UsersSplit> {
    let mut found = None;
    let last = users_cuts(source, |cut, middle| {
        if found.is_none() && cut.at >= middle {
            found = Some(cut);
        }
    });
    if last {
        found
    } else {
        None
    }
}

/// Hands `each` every item of the `users` list but the first, with the byte offset of the
/// list's middle, and returns whether the list is written last: `users:` alone on a line at
/// column 0, then only lines indented as far as its first `-` or further, to the end of the
/// file.
///
/// Why a cut found here is sound once the reader reads both halves whole: the reader takes
/// no construct that spans lines but block collections (no block scalar, no multi-line
/// scalar or flow collection), so in a document it reads, `users:` at column 0 is a key of
/// the root mapping, and a line at the list's column that starts with `- ` is an item of
/// that list as long as no line since was less indented (which would have closed it). The
/// head then reads as the document with the list cut short before that item, and the tail
/// as the rest of the list, event for event as in the whole file.
pub(super) fn users_cuts(source: &str, mut each: impl FnMut(UsersSplit, usize)) -> bool {
    let bytes = source.as_bytes();
    // `None` before the `users:` line, then the column of the list's items once known.
    let mut list: Option<Option<usize>> = None;
    let mut middle = 0;
    let mut items = 0;
    let mut line: u32 = 0;
    let mut start = 0;
    while start < bytes.len() {
        let Some(next) = line.checked_add(1) else {
            return false;
        };
        line = next;
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |n| start + n);
        let text = &bytes[start..end];
        let indent = text.iter().take_while(|b| **b == b' ').count();
        let content = &text[indent..];
        if content.first().is_some_and(|b| *b != b'#') {
            let dash = content[0] == b'-' && matches!(content.get(1), None | Some(b' '));
            match list {
                None => {
                    if indent == 0 && opens_users(content) {
                        list = Some(None);
                        middle = end + (bytes.len() - end) / 2;
                    }
                }
                Some(None) if dash => {
                    list = Some(Some(indent));
                    items = 1;
                }
                Some(Some(column)) if indent > column => {}
                Some(Some(column)) if indent == column && dash => {
                    let cut = UsersSplit {
                        at: start,
                        line,
                        indent: column,
                        items_before: items,
                    };
                    each(cut, middle);
                    items += 1;
                }
                // Not a list, or something after it.
                Some(_) => return false,
            }
        }
        start = end + 1;
    }
    matches!(list, Some(Some(_)))
}

/// Whether a line at column 0 is the key `users` with its value on the lines below.
fn opens_users(content: &[u8]) -> bool {
    let Some(rest) = content.strip_prefix(b"users:") else {
        return false;
    };
    let spaces = rest.iter().take_while(|b| **b == b' ').count();
    spaces == rest.len() || (spaces > 0 && rest[spaces] == b'#')
}

/// Reads the items of the `users` list from `split` to the end of `source` as [`scan`] reads
/// them in the whole file: the list's start, its items and its end are emitted; the root
/// mapping and its `users` key are not, so the receiver stands them in.
pub(super) fn scan_users_tail<'s>(
    source: &'s str,
    split: UsersSplit,
    emit: impl FnMut(Event<'s>, Mark) -> Result<(), YamlError>,
) -> Result<Scan, YamlError> {
    let bytes = source.as_bytes();
    if split.at >= bytes.len()
        || !source.is_char_boundary(split.at)
        || !plain_text(&bytes[split.at..])
    {
        return Ok(Scan::Bailed);
    }
    // As the whole file's reader stands on that line: inside the root mapping (column 0),
    // at the `-` of an item.
    let mut reader = Reader {
        source,
        bytes,
        pos: split.at,
        line: split.line,
        line_start: split.at,
        eol: split.at,
        counted: (split.at, 0),
        depth: 1,
        open: vec![(0, false)],
        pending: Vec::new(),
        emit,
    };
    reader.start_line(split.at);
    let on_item = matches!(reader.content_here(false), Ok(Some(indent)) if indent == split.indent)
        && reader.at_dash();
    if !on_item {
        return Ok(Scan::Bailed);
    }
    match reader.block_sequence(split.indent, split.indent == 0) {
        Ok(()) if reader.at_end() => Ok(Scan::Complete),
        Ok(()) | Err(Stop::Bail) => Ok(Scan::Bailed),
        Err(Stop::Refused(error)) => Err(error),
    }
}

/// Whether the text holds only characters the reader takes at face value: no control
/// character but the line feed (so no tab, no carriage return), no DEL, no C1 control, no
/// byte-order mark or non-character, no Unicode line or paragraph separator.
fn plain_text(bytes: &[u8]) -> bool {
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte < 0x80 {
            if (byte < 0x20 && byte != b'\n') || byte == 0x7f {
                return false;
            }
        } else {
            let next = |n: usize| bytes.get(at + n).copied().unwrap_or(0);
            let refused = match byte {
                0xc2 => (0x80..=0x9f).contains(&next(1)),
                0xe2 => next(1) == 0x80 && matches!(next(2), 0xa8 | 0xa9),
                0xef => {
                    (next(1) == 0xbb && next(2) == 0xbf)
                        || (next(1) == 0xbf && matches!(next(2), 0xbe | 0xbf))
                }
                _ => false,
            };
            if refused {
                return false;
            }
        }
        at += 1;
    }
    true
}

/// What a byte does to a plain scalar being read.
enum Plain {
    /// It ends the scalar (and is not part of it).
    Ends,
    /// Outside the reader's subset.
    Bail,
    /// A space: part of the scalar only if text follows.
    Space,
    /// Part of the scalar.
    Text,
}

/// A scalar read but not yet emitted.
struct Scalar<'s> {
    text: Cow<'s, str>,
    style: ScalarStyle,
    at: Mark,
}

struct Reader<'s, F> {
    source: &'s str,
    bytes: &'s [u8],
    /// Where reading is, a byte offset.
    pos: usize,
    /// The current line, 1-based.
    line: u32,
    /// Where the current line starts and ends (its line feed, or the end of the text).
    line_start: usize,
    eol: usize,
    /// A byte offset on the current line and the characters before it on the line.
    counted: (usize, usize),
    depth: usize,
    /// The block collections open, innermost last: the column of their entries, and whether
    /// each is a sequence.
    open: Vec<(usize, bool)>,
    /// The events of a flow collection, held until its line is known to be well formed:
    /// granit-parser looks ahead and emits none of them if the line is not.
    pending: Vec<(Event<'s>, Mark)>,
    emit: F,
}

impl<'s, F> Reader<'s, F>
where
    F: FnMut(Event<'s>, Mark) -> Result<(), YamlError>,
{
    fn send(&mut self, event: Event<'s>, at: Mark) -> Step {
        (self.emit)(event, at).map_err(Stop::Refused)
    }

    fn byte(&self, at: usize) -> u8 {
        if at < self.eol {
            self.bytes[at]
        } else {
            b'\n'
        }
    }

    /// Where `at` (on the current line) is, counting columns in characters as granit-parser does.
    /// Marks on a line are asked for left to right, so the count goes on from the last one:
    /// a long line (a flow list of thousands of items) costs its length, not its square.
    fn mark(&mut self, at: usize) -> Mark {
        if at < self.counted.0 {
            self.counted = (self.line_start, 0);
        }
        let (from, before) = self.counted;
        let more = &self.bytes[from..at];
        let chars = if more.is_ascii() {
            more.len()
        } else {
            more.iter().filter(|b| (**b & 0xc0) != 0x80).count()
        };
        self.counted = (at, before + chars);
        Mark {
            line: self.line,
            column: u32::try_from(before + chars + 1).unwrap_or(u32::MAX),
        }
    }

    fn start_line(&mut self, at: usize) {
        self.line_start = at;
        self.counted = (at, 0);
        self.pos = at;
        self.eol = memchr::memchr(b'\n', &self.bytes[at..]).map_or(self.bytes.len(), |n| at + n);
    }

    fn at_end(&self) -> bool {
        self.line_start >= self.bytes.len()
    }

    /// Moves to the next line with content, skipping blank and comment lines, and returns its
    /// indentation (`pos` is then on its first character), or `None` at the end of the text.
    fn next_content_line(&mut self) -> Step<Option<usize>> {
        loop {
            if self.eol >= self.bytes.len() {
                self.start_line(self.bytes.len());
                return Ok(None);
            }
            self.line += 1;
            self.start_line(self.eol + 1);
            if let Some(indent) = self.content_here(true)? {
                return Ok(Some(indent));
            }
        }
    }

    /// The indentation of the current line if it has content (`pos` on its first character),
    /// `None` if it is blank or a comment. With `markers`, a document marker (`---`, `...`)
    /// is refused.
    fn content_here(&mut self, markers: bool) -> Step<Option<usize>> {
        let mut at = self.line_start;
        while at < self.eol && self.bytes[at] == b' ' {
            at += 1;
        }
        if at == self.eol || self.bytes[at] == b'#' {
            return Ok(None);
        }
        let indent = at - self.line_start;
        if indent == 0 && markers {
            let line = &self.bytes[at..self.eol];
            let marker = line.starts_with(b"---") || line.starts_with(b"...");
            if marker && matches!(line.get(3), None | Some(b' ')) {
                return Err(Stop::Bail);
            }
        }
        self.pos = at;
        Ok(Some(indent))
    }

    fn document(&mut self) -> Step {
        self.start_line(0);
        let mut first = self.content_here(false)?;
        while first.is_none() && self.eol < self.bytes.len() {
            self.line += 1;
            self.start_line(self.eol + 1);
            first = self.content_here(false)?;
        }
        let line = &self.bytes[self.pos..self.eol];
        let marker =
            |text: &[u8]| line.starts_with(text) && matches!(line.get(3), None | Some(b' '));
        if first == Some(0) && marker(b"---") {
            // `---` alone (or with a comment) opening the document.
            self.pos += 3;
            self.rest_of_line_is_empty()?;
            first = self.next_content_line()?;
        } else if first == Some(0) && marker(b"...") {
            return Err(Stop::Bail);
        }
        if first != Some(0) {
            return Err(Stop::Bail);
        }
        let key = self.plain_or_quoted_key()?.ok_or(Stop::Bail)?;
        self.block_mapping(0, key)?;
        if self.at_end() {
            Ok(())
        } else {
            Err(Stop::Bail)
        }
    }

    /// After a node on the current line: only spaces, then perhaps a comment.
    fn rest_of_line_is_empty(&mut self) -> Step {
        let start = self.pos;
        while self.byte(self.pos) == b' ' {
            self.pos += 1;
        }
        if self.pos == self.eol || (self.pos > start && self.byte(self.pos) == b'#') {
            Ok(())
        } else {
            Err(Stop::Bail)
        }
    }

    fn deeper(&mut self) -> Step {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Stop::Bail);
        }
        Ok(())
    }

    /// A block mapping whose entries start at column `indent` (0-based), the first key
    /// already read; ends on the first content line after it (or the end of the text).
    fn block_mapping(&mut self, indent: usize, first_key: Scalar<'s>) -> Step {
        self.deeper()?;
        self.open.push((indent, false));
        self.send(
            Event::MappingStart(StructureStyle::Block, 0, None),
            first_key.at,
        )?;
        let mut key = first_key;
        loop {
            let at = key.at;
            self.send(Event::Scalar(key.text, key.style, 0, None), at)?;
            self.mapping_value(indent)?;
            match self.current_indent() {
                Some(next) if next == indent && !self.at_dash() => {
                    key = self.plain_or_quoted_key()?.ok_or(Stop::Bail)?;
                }
                Some(next) if next > indent => return Err(Stop::Bail),
                _ => break,
            }
        }
        self.send(Event::MappingEnd, Mark::UNKNOWN)?;
        self.open.pop();
        self.depth -= 1;
        Ok(())
    }

    /// The indentation of the content line `pos` is on, `None` at the end of the text.
    fn current_indent(&self) -> Option<usize> {
        (!self.at_end()).then(|| self.pos - self.line_start)
    }

    /// Whether `pos` is on a `-` starting a sequence item.
    fn at_dash(&self) -> bool {
        self.byte(self.pos) == b'-' && matches!(self.byte(self.pos + 1), b' ' | b'\n')
    }

    /// The value of a block mapping entry at `indent`, `pos` just after its key's `:`.
    fn mapping_value(&mut self, indent: usize) -> Step {
        let after_colon = self.pos;
        while self.byte(self.pos) == b' ' {
            self.pos += 1;
        }
        let rest = self.byte(self.pos);
        if rest == b'\n' || (rest == b'#' && self.pos > after_colon) {
            // The value is on the lines below: a nested collection.
            let Some(next) = self.next_content_line()? else {
                return Err(Stop::Bail);
            };
            if self.at_dash() && next >= indent {
                return self.block_sequence(next, next == indent);
            }
            if next > indent {
                let key = self.plain_or_quoted_key()?.ok_or(Stop::Bail)?;
                return self.block_mapping(next, key);
            }
            return Err(Stop::Bail);
        }
        self.inline_value(indent)
    }

    /// A value written on the current line, after a key or a `- ` of a block collection
    /// at `indent`, then the move to the next content line.
    fn inline_value(&mut self, indent: usize) -> Step {
        let scalar = match self.byte(self.pos) {
            b'[' | b'{' => {
                self.pending.clear();
                self.flow_node()?;
                self.rest_of_line_is_empty()?;
                None
            }
            b'"' | b'\'' => {
                let scalar = self.quoted()?;
                self.rest_of_line_is_empty()?;
                Some(scalar)
            }
            _ => {
                let scalar = self.block_plain()?;
                if self.byte(self.pos) == b':' {
                    // `a: b: c`
                    return Err(Stop::Bail);
                }
                Some(scalar)
            }
        };
        // The value is emitted only once the next line is known to fit: a deeper line would
        // continue a scalar (or be an error), and granit-parser looks ahead that far.
        debug_assert_eq!(self.open.last().map(|open| open.0), Some(indent));
        if let Some(next) = self.next_content_line()? {
            if !self.fits(next) {
                return Err(Stop::Bail);
            }
        }
        match scalar {
            Some(scalar) => self.send(Event::Scalar(scalar.text, scalar.style, 0, None), scalar.at),
            None => {
                let mut pending = std::mem::take(&mut self.pending);
                for (event, at) in pending.drain(..) {
                    self.send(event, at)?;
                }
                self.pending = pending;
                Ok(())
            }
        }
    }

    /// Whether a content line at column `indent` (`pos` on its first character) goes on one
    /// of the open collections: an entry of the innermost at that column, closing the deeper
    /// ones.
    fn fits(&self, indent: usize) -> bool {
        let dash = self.at_dash();
        for (closed, &(column, sequence)) in self.open.iter().rev().enumerate() {
            if column > indent || (column == indent && sequence && !dash) {
                continue;
            }
            // An entry of the innermost collection is read next, and nothing emitted if it
            // is not one.
            return column == indent
                && sequence == dash
                && (closed == 0 || self.entry_starts_here(dash));
        }
        false
    }

    /// Whether the line `pos` is on starts an entry: a key and its `:`, or a `-` and the
    /// item's content. granit-parser reads that far before it closes the collections the
    /// line ends, so the reader emits their ends only once it has too.
    fn entry_starts_here(&self, dash: bool) -> bool {
        if dash {
            let mut at = self.pos + 1;
            while self.byte(at) == b' ' {
                at += 1;
            }
            return !matches!(self.byte(at), b'\n' | b'#');
        }
        let mut probe = Reader {
            source: self.source,
            bytes: self.bytes,
            pos: self.pos,
            line: self.line,
            line_start: self.line_start,
            eol: self.eol,
            counted: (self.line_start, 0),
            depth: 0,
            open: Vec::new(),
            pending: Vec::new(),
            emit: |_: Event<'s>, _: Mark| Ok(()),
        };
        matches!(probe.plain_or_quoted_key(), Ok(Some(_)))
    }

    /// A block sequence whose `-` are at column `indent`, `pos` on the first; `indentless`
    /// when it is the value of a mapping key at the same column.
    fn block_sequence(&mut self, indent: usize, indentless: bool) -> Step {
        self.deeper()?;
        self.open.push((indent, true));
        let dash = self.mark(self.pos);
        let mut first = true;
        loop {
            // `pos` is on a `-` followed by a space (or the line's end, refused here).
            self.pos += 1;
            while self.byte(self.pos) == b' ' {
                self.pos += 1;
            }
            if matches!(self.byte(self.pos), b'\n' | b'#') {
                return Err(Stop::Bail);
            }
            if first {
                // granit-parser places an indentless sequence where its first item's content
                // starts, any other at its first `-`.
                let at = if indentless {
                    self.mark(self.pos)
                } else {
                    dash
                };
                self.send(Event::SequenceStart(StructureStyle::Block, 0, None), at)?;
                first = false;
            }
            let item = self.pos - self.line_start;
            if self.at_dash() {
                self.block_sequence(item, false)?;
            } else {
                let start = self.pos;
                match self.plain_or_quoted_key()? {
                    Some(key) => self.block_mapping(item, key)?,
                    None => {
                        self.pos = start;
                        self.inline_value(indent)?;
                    }
                }
            }
            match self.current_indent() {
                Some(next) if next == indent && self.at_dash() => {}
                Some(next) if next > indent => return Err(Stop::Bail),
                _ => break,
            }
        }
        self.send(Event::SequenceEnd, Mark::UNKNOWN)?;
        self.open.pop();
        self.depth -= 1;
        Ok(())
    }

    /// A key of a block mapping at `pos`: `Some` with `pos` after its `:` when there is one
    /// (the `:` followed by a space or the line's end), `None` when what is there is not a
    /// key (a scalar value: the caller reads it again).
    fn plain_or_quoted_key(&mut self) -> Step<Option<Scalar<'s>>> {
        let start = self.pos;
        let key = match self.byte(self.pos) {
            b'"' | b'\'' => {
                let key = self.quoted()?;
                while self.byte(self.pos) == b' ' {
                    self.pos += 1;
                }
                key
            }
            b'[' | b'{' => return Ok(None),
            _ => self.block_plain()?,
        };
        if self.byte(self.pos) != b':' {
            return Ok(None);
        }
        if !matches!(self.byte(self.pos + 1), b' ' | b'\n') || self.pos - start > MAX_KEY_BYTES {
            return Err(Stop::Bail);
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// Whether `byte` may start a plain scalar the reader takes (followed by `next`).
    fn plain_start(byte: u8, next: u8) -> bool {
        byte.is_ascii_alphanumeric()
            || byte >= 0x80
            || matches!(
                byte,
                b'_' | b'.'
                    | b'/'
                    | b'+'
                    | b'~'
                    | b'('
                    | b'$'
                    | b'='
                    | b'^'
                    | b';'
                    | b'<'
                    | b')'
                    | b'\\'
            )
            || (byte == b'-' && (next.is_ascii_alphanumeric() || next == b'.' || next >= 0x80))
    }

    /// A plain scalar in block context at `pos`; `pos` is left after it, on the `:` that ends
    /// a key, a comment, or the line's end.
    fn block_plain(&mut self) -> Step<Scalar<'s>> {
        self.plain(|reader, at| match reader.byte(at) {
            b'\n' => Plain::Ends,
            b':' if matches!(reader.byte(at + 1), b' ' | b'\n') => Plain::Ends,
            b'#' if reader.bytes[at - 1] == b' ' => Plain::Ends,
            b'[' | b']' | b'{' | b'}' => Plain::Bail,
            b' ' => Plain::Space,
            _ => Plain::Text,
        })
    }

    /// A plain scalar inside a flow collection; `pos` is left on what ends it.
    fn flow_plain(&mut self) -> Step<Scalar<'s>> {
        self.plain(|reader, at| match reader.byte(at) {
            b',' | b']' | b'}' => Plain::Ends,
            b':' if reader.byte(at + 1) == b' ' => Plain::Ends,
            b'\n' | b':' | b'[' | b'{' => Plain::Bail,
            b'#' if reader.bytes[at - 1] == b' ' => Plain::Bail,
            b' ' => Plain::Space,
            _ => Plain::Text,
        })
    }

    /// A plain scalar at `pos`, each byte read as `byte_at` says (the block and flow grammars
    /// differ only there); `pos` is left on the byte that ends it, trailing spaces excluded
    /// from its text.
    fn plain(&mut self, byte_at: impl Fn(&Self, usize) -> Plain) -> Step<Scalar<'s>> {
        let start = self.pos;
        if !Self::plain_start(self.byte(start), self.byte(start + 1)) {
            return Err(Stop::Bail);
        }
        let mut at = start;
        let mut end = start;
        loop {
            match byte_at(self, at) {
                Plain::Ends => break,
                Plain::Bail => return Err(Stop::Bail),
                Plain::Space => {}
                Plain::Text => end = at + 1,
            }
            at += 1;
        }
        self.pos = at;
        Ok(Scalar {
            text: Cow::Borrowed(&self.source[start..end]),
            style: ScalarStyle::Plain,
            at: self.mark(start),
        })
    }

    /// A single- or double-quoted scalar closed on its line; `pos` is left after it.
    fn quoted(&mut self) -> Step<Scalar<'s>> {
        let start = self.pos;
        let quote = self.bytes[start];
        let mut owned: Option<String> = None;
        let mut run = start + 1;
        let mut at = start + 1;
        loop {
            if at >= self.eol {
                return Err(Stop::Bail);
            }
            let byte = self.bytes[at];
            if byte == quote {
                if quote == b'\'' && self.byte(at + 1) == b'\'' {
                    owned
                        .get_or_insert_with(String::new)
                        .push_str(&self.source[run..=at]);
                    at += 2;
                    run = at;
                    continue;
                }
                break;
            }
            if quote == b'"' && byte == b'\\' {
                let (escaped, length) = self.escape(at).ok_or(Stop::Bail)?;
                let text = owned.get_or_insert_with(String::new);
                text.push_str(&self.source[run..at]);
                text.push(escaped);
                at += length;
                run = at;
                continue;
            }
            at += 1;
        }
        let text = match owned {
            None => Cow::Borrowed(&self.source[start + 1..at]),
            Some(mut text) => {
                text.push_str(&self.source[run..at]);
                Cow::Owned(text)
            }
        };
        self.pos = at + 1;
        Ok(Scalar {
            text,
            style: if quote == b'"' {
                ScalarStyle::DoubleQuoted
            } else {
                ScalarStyle::SingleQuoted
            },
            at: self.mark(start),
        })
    }

    /// The character a double-quoted escape at `at` stands for, and how many bytes it takes;
    /// `None` for escapes left to granit-parser.
    fn escape(&self, at: usize) -> Option<(char, usize)> {
        let escaped = match self.byte(at + 1) {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'u' => {
                let hex = self.source.get(at + 2..at + 6)?;
                if at + 6 > self.eol || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                let code = u32::from_str_radix(hex, 16).ok()?;
                return char::from_u32(code).map(|c| (c, 6));
            }
            _ => return None,
        };
        Some((escaped, 2))
    }

    /// A flow list or mapping at `pos`, closed on its line; `pos` is left after it.
    fn flow_node(&mut self) -> Step {
        self.deeper()?;
        let open = self.bytes[self.pos];
        let at = self.mark(self.pos);
        let (close, end) = if open == b'[' {
            self.hold(Event::SequenceStart(StructureStyle::Flow, 0, None), at)?;
            (b']', Event::SequenceEnd)
        } else {
            self.hold(Event::MappingStart(StructureStyle::Flow, 0, None), at)?;
            (b'}', Event::MappingEnd)
        };
        self.pos += 1;
        self.flow_spaces();
        if self.byte(self.pos) != close {
            loop {
                if open == b'{' {
                    let start = self.pos;
                    let key = self.flow_scalar()?;
                    self.flow_spaces();
                    if !(self.byte(self.pos) == b':' && self.byte(self.pos + 1) == b' ')
                        || self.pos - start > MAX_KEY_BYTES
                    {
                        return Err(Stop::Bail);
                    }
                    self.pos += 1;
                    self.flow_spaces();
                    self.hold(Event::Scalar(key.text, key.style, 0, None), key.at)?;
                }
                match self.byte(self.pos) {
                    b'[' | b'{' => self.flow_node()?,
                    b',' | b']' | b'}' => return Err(Stop::Bail),
                    _ => {
                        let value = self.flow_scalar()?;
                        self.flow_spaces();
                        if self.byte(self.pos) == b':' {
                            // A one-pair mapping in a list, or a key without a space.
                            return Err(Stop::Bail);
                        }
                        self.hold(Event::Scalar(value.text, value.style, 0, None), value.at)?;
                    }
                }
                self.flow_spaces();
                match self.byte(self.pos) {
                    b',' => {
                        self.pos += 1;
                        self.flow_spaces();
                        if matches!(self.byte(self.pos), b']' | b'}') {
                            return Err(Stop::Bail);
                        }
                    }
                    byte if byte == close => break,
                    _ => return Err(Stop::Bail),
                }
            }
        }
        self.pos += 1;
        self.hold(end, Mark::UNKNOWN)?;
        self.depth -= 1;
        Ok(())
    }

    fn hold(&mut self, event: Event<'s>, at: Mark) -> Step {
        self.pending.push((event, at));
        Ok(())
    }

    fn flow_spaces(&mut self) {
        while self.byte(self.pos) == b' ' {
            self.pos += 1;
        }
    }

    fn flow_scalar(&mut self) -> Step<Scalar<'s>> {
        match self.byte(self.pos) {
            b'"' | b'\'' => self.quoted(),
            _ => self.flow_plain(),
        }
    }
}

#[cfg(test)]
mod tests;
