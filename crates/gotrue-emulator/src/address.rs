//! Address syntax as netlify/gotrue checks it when a mailer is configured: Go's
//! `net/mail.ParseAddress`, re-read from its grammar (RFC 5322 with Go's leniencies). The
//! error texts are Go's, so a rejection reads like the real server's
//! `Unable to validate email address: mail: …`.

/// `Ok(())` when Go's `net/mail.ParseAddress` would accept `input`, else its error text.
pub fn parse_address(input: &str) -> Result<(), String> {
    let mut p = Parser { rest: input };
    p.address()?;
    if !p.skip_cfws() {
        return Err("mail: misformatted parenthetical comment".into());
    }
    if !p.rest.is_empty() {
        return Err(format!("mail: expected single address, got {:?}", p.rest));
    }
    Ok(())
}

struct Parser<'a> {
    rest: &'a str,
}

/// RFC 5322 `atext` (plus `.` inside dot-atoms); any non-ASCII character counts, as in Go.
fn is_atext(c: char, dot: bool) -> bool {
    match c {
        '.' => dot,
        '(' | ')' | '<' | '>' | '[' | ']' | ':' | ';' | '@' | '\\' | ',' | '"' => false,
        c => is_vchar(c),
    }
}

fn is_vchar(c: char) -> bool {
    ('!'..='~').contains(&c) || !c.is_ascii()
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn consume(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    /// Spaces and parenthesised comments; `false` on an unclosed comment.
    fn skip_cfws(&mut self) -> bool {
        self.skip_space();
        while self.consume('(') {
            if !self.comment() {
                return false;
            }
            self.skip_space();
        }
        true
    }

    /// The rest of a comment whose `(` was consumed; `false` if it never closes.
    fn comment(&mut self) -> bool {
        let mut depth = 1;
        let mut chars = self.rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.rest = &self.rest[i + 1..];
                        return true;
                    }
                }
                _ => {}
            }
        }
        self.rest = "";
        false
    }

    /// `mailbox`: an addr-spec (optionally followed by a comment), or `[phrase] <addr-spec>`.
    fn address(&mut self) -> Result<(), String> {
        self.skip_space();
        if self.rest.is_empty() {
            return Err("mail: no address".into());
        }
        let saved = self.rest;
        if self.addr_spec().is_ok() {
            self.skip_space();
            if self.consume('(') && !self.comment() {
                return Err("mail: misformatted parenthetical comment".into());
            }
            return Ok(());
        }
        self.rest = saved;
        let mut name = String::new();
        if self.peek() != Some('<') {
            name = self.phrase()?;
        }
        self.skip_space();
        if !self.consume('<') {
            return Err(if name.chars().all(|c| is_atext(c, true)) {
                "mail: missing '@' or angle-addr".into()
            } else {
                "mail: no angle-addr".into()
            });
        }
        self.addr_spec()?;
        if !self.consume('>') {
            return Err("mail: unclosed angle-addr".into());
        }
        Ok(())
    }

    /// `local-part "@" domain`.
    fn addr_spec(&mut self) -> Result<(), String> {
        self.skip_space();
        if self.rest.is_empty() {
            return Err("mail: no addr-spec".into());
        }
        if self.peek() == Some('"') {
            if self.quoted_string()?.is_empty() {
                return Err("mail: empty quoted-string in addr-spec".into());
            }
        } else {
            self.atom(true, false)?;
        }
        if !self.consume('@') {
            return Err("mail: missing @ in addr-spec".into());
        }
        self.skip_space();
        if self.rest.is_empty() {
            return Err("mail: no domain in addr-spec".into());
        }
        if self.peek() == Some('[') {
            self.domain_literal()
        } else {
            self.atom(true, false).map(|_| ())
        }
    }

    /// A (dot-)atom; unless `permissive`, dots may not lead, trail or repeat.
    fn atom(&mut self, dot: bool, permissive: bool) -> Result<&str, String> {
        let end = self
            .rest
            .char_indices()
            .find(|&(_, c)| !is_atext(c, dot))
            .map_or(self.rest.len(), |(i, _)| i);
        if end == 0 {
            return Err("mail: invalid string".into());
        }
        let (atom, rest) = self.rest.split_at(end);
        self.rest = rest;
        if !permissive {
            if atom.starts_with('.') {
                return Err("mail: leading dot in atom".into());
            }
            if atom.contains("..") {
                return Err("mail: double dot in atom".into());
            }
            if atom.ends_with('.') {
                return Err("mail: trailing dot in atom".into());
            }
        }
        Ok(atom)
    }

    /// A `"…"` string (the opening quote is next); returns its unescaped content.
    fn quoted_string(&mut self) -> Result<String, String> {
        let mut content = String::new();
        let mut escaped = false;
        for (i, c) in self.rest.char_indices().skip(1) {
            if escaped {
                if !is_vchar(c) && !is_wsp(c) {
                    return Err(format!("mail: bad character in quoted-string: {c:?}"));
                }
                content.push(c);
                escaped = false;
            } else if c == '"' {
                self.rest = &self.rest[i + 1..];
                return Ok(content);
            } else if c == '\\' {
                escaped = true;
            } else if is_vchar(c) || is_wsp(c) {
                content.push(c);
            } else {
                return Err(format!("mail: bad character in quoted-string: {c:?}"));
            }
        }
        Err("mail: unclosed quoted-string".into())
    }

    /// `[…]` holding an IP address.
    fn domain_literal(&mut self) -> Result<(), String> {
        let Some(end) = self.rest.find(']') else {
            return Err("mail: unclosed domain-literal".into());
        };
        let inner = &self.rest[1..end];
        if let Some(c) = inner
            .chars()
            .find(|&c| !is_vchar(c) || c == '[' || c == '\\')
        {
            return Err(format!("mail: bad character in domain-literal: {c:?}"));
        }
        let ip = inner.strip_prefix("IPv6:").unwrap_or(inner);
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!(
                "mail: invalid IP address in domain-literal: {inner:?}"
            ));
        }
        self.rest = &self.rest[end + 1..];
        Ok(())
    }

    /// `1*word` of a display name: atoms (dots allowed) or quoted strings, comments between.
    fn phrase(&mut self) -> Result<String, String> {
        let mut words: Vec<String> = Vec::new();
        loop {
            if !words.is_empty() && !self.skip_cfws() {
                return Err("mail: misformatted parenthetical comment".into());
            }
            self.skip_space();
            if self.rest.is_empty() {
                break;
            }
            let word = if self.peek() == Some('"') {
                self.quoted_string()
            } else {
                self.atom(true, true).map(str::to_owned)
            };
            match word {
                Ok(word) => words.push(word),
                Err(e) if words.is_empty() => {
                    return Err(format!("mail: missing word in phrase: {e}"))
                }
                Err(_) => break,
            }
        }
        Ok(words.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_addresses_observed_on_a_real_server() {
        for accepted in [
            "user@x.com",
            "\"quoted local\"@x.com",
            "user@localhost",
            "user@example",
            " alice@example.com",
            "alice@example.com ",
            "josé@example.com",
            "Alice <alice@example.com>",
            "alice@example.com (Alice)",
            "a+tag@[127.0.0.1]",
        ] {
            assert_eq!(parse_address(accepted), Ok(()), "{accepted:?}");
        }
        for (rejected, why) in [
            ("a..b@x.com", "mail: missing '@' or angle-addr"),
            (".a@x.com", "mail: missing '@' or angle-addr"),
            ("a.@x.com", "mail: missing '@' or angle-addr"),
            (
                "(comment)user@x.com",
                "mail: missing word in phrase: mail: invalid string",
            ),
            ("not-an-address", "mail: missing '@' or angle-addr"),
            ("", "mail: no address"),
            ("two words", "mail: no angle-addr"),
            (
                "a@b.com, c@d.com",
                "mail: expected single address, got \", c@d.com\"",
            ),
            ("<a@b.com", "mail: unclosed angle-addr"),
            ("a@[not-ip]", "mail: missing '@' or angle-addr"),
        ] {
            assert_eq!(parse_address(rejected), Err(why.to_owned()), "{rejected:?}");
        }
    }
}
