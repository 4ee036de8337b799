//! A character cursor over the source text: whitespace and comment skipping, the small
//! lexical readers the parser is built from, and `line:col` error construction.
//!
//! The parser is scannerless (the `tensor<Nx3xf32>` dim syntax does not tokenise well), so
//! every reader here starts by skipping whitespace and `//` comments, except the ones that
//! read the inside of a token ([`Cursor::name`], [`Cursor::id_suffix`]).

use super::syntax::is_name_char;
use crate::{Error, Result};

/// A literal atom (number, word, `nan(0x...)`) and the byte offset where it starts.
pub(crate) type Atom = (String, usize);

/// Position in the source plus the readers. Offsets are byte offsets and always lie on
/// character boundaries.
pub(crate) struct Cursor<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `src`.
    pub(crate) fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0 }
    }

    /// Current byte offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves back to an offset previously returned by [`Cursor::pos`].
    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The next character, without consuming it.
    pub(crate) fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// The character after the next one.
    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    /// Consumes one character.
    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Skips whitespace and `//` line comments.
    pub(crate) fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek2() == Some('/') => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.bump();
                    }
                }
                _ => return,
            }
        }
    }

    /// True when only whitespace and comments remain.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.src.len()
    }

    /// The 1-based line and column (in characters) of byte offset `pos`.
    pub(crate) fn line_col(&self, pos: usize) -> (usize, usize) {
        let before = &self.src[..pos.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// A parse error at byte offset `pos`.
    pub(crate) fn error_at(&self, pos: usize, msg: impl Into<String>) -> Error {
        let (line, col) = self.line_col(pos);
        Error::Parse {
            line,
            col,
            msg: msg.into(),
        }
    }

    /// A parse error at the next non-blank character.
    pub(crate) fn error(&mut self, msg: impl Into<String>) -> Error {
        self.skip_ws();
        self.error_at(self.pos, msg)
    }

    /// A short description of what comes next, for "expected X, found Y" messages.
    pub(crate) fn found(&mut self) -> String {
        self.skip_ws();
        let rest = &self.src[self.pos..];
        match rest.chars().next() {
            None => "end of input".into(),
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let w: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(24)
                    .collect();
                format!("'{w}'")
            }
            Some(c) => format!("'{c}'"),
        }
    }

    /// Consumes `c` (after blanks) if it is next.
    pub(crate) fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Peeks at the next non-blank character.
    pub(crate) fn peek_tok(&mut self) -> Option<char> {
        self.skip_ws();
        self.peek()
    }

    /// Consumes `c` or fails with "expected `what`, found ...".
    pub(crate) fn expect(&mut self, c: char, what: &str) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            let found = self.found();
            Err(self.error(format!("expected {what}, found {found}")))
        }
    }

    /// Reads a word `[A-Za-z0-9_]+` (after blanks) with its offset; `None` if none is next.
    pub(crate) fn word(&mut self) -> Option<Atom> {
        self.skip_ws();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        (self.pos > start).then(|| (self.src[start..self.pos].to_string(), start))
    }

    /// Consumes the keyword `kw` if it is the next whole word.
    pub(crate) fn eat_keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let save = self.pos;
        match self.word() {
            Some((w, _)) if w == kw => true,
            _ => {
                self.pos = save;
                false
            }
        }
    }

    /// Consumes the keyword `kw` or fails with "expected `what`, found ...".
    pub(crate) fn expect_keyword(&mut self, kw: &str, what: &str) -> Result<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            let found = self.found();
            Err(self.error(format!("expected {what}, found {found}")))
        }
    }

    /// Reads a double-quoted string literal (after blanks), undoing [`super::syntax::quote`].
    pub(crate) fn string(&mut self) -> Result<String> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() != Some('"') {
            let found = self.found();
            return Err(self.error(format!("expected a string literal, found {found}")));
        }
        self.bump();
        let mut out = String::new();
        loop {
            let here = self.pos;
            match self.bump() {
                None | Some('\n') => {
                    return Err(self.error_at(start, "unterminated string literal"));
                }
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('u') if self.peek() == Some('{') => {
                        self.bump();
                        let hex_start = self.pos;
                        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                            self.bump();
                        }
                        let hex = &self.src[hex_start..self.pos];
                        let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                        match (ch, self.bump()) {
                            (Some(ch), Some('}')) => out.push(ch),
                            _ => return Err(self.error_at(here, "invalid '\\u{...}' escape")),
                        }
                    }
                    _ => {
                        return Err(self.error_at(
                            here,
                            "invalid escape (expected \\\", \\\\, \\n, \\t, \\r or \\u{HEX})",
                        ))
                    }
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// Reads the name right after a `%` or `@` sigil (no blanks allowed): a quoted string,
    /// or a bare run of name characters that stops before `//`. May be empty (as in `%#3`).
    pub(crate) fn name(&mut self) -> Result<String> {
        if self.peek() == Some('"') {
            return self.string();
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !is_name_char(c) || (c == '/' && self.peek2() == Some('/')) {
                break;
            }
            self.bump();
        }
        Ok(self.src[start..self.pos].to_string())
    }

    /// Reads an optional `#ID` suffix right after a name (no blanks allowed).
    pub(crate) fn id_suffix(&mut self) -> Result<Option<u32>> {
        if self.peek() != Some('#') {
            return Ok(None);
        }
        let at = self.pos;
        self.bump();
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let digits = &self.src[start..self.pos];
        if digits.is_empty() {
            return Err(self.error_at(at, "expected digits after '#'"));
        }
        digits
            .parse()
            .map(Some)
            .map_err(|_| self.error_at(at, format!("id #{digits} is too large")))
    }

    /// Reads a literal atom (after blanks): an optional sign, then a run of
    /// `[A-Za-z0-9_.]` where `+`/`-` may follow an exponent `e`/`E` of a number, and
    /// `nan(0x...)` as one atom. Covers integers, floats, `inf`, `nan`, `true`, enum words.
    pub(crate) fn atom(&mut self) -> Option<Atom> {
        self.skip_ws();
        let start = self.pos;
        if matches!(self.peek(), Some('-' | '+')) {
            self.bump();
        }
        let body = self.pos;
        let numeric = self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.');
        let mut prev = ' ';
        while let Some(c) = self.peek() {
            let exp_sign = numeric && matches!(c, '+' | '-') && matches!(prev, 'e' | 'E');
            if !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || exp_sign) {
                break;
            }
            prev = c;
            self.bump();
        }
        if self.pos == body {
            self.pos = start;
            return None;
        }
        if &self.src[body..self.pos] == "nan" && self.peek() == Some('(') {
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
                self.bump();
            }
            if self.peek() == Some(')') {
                self.bump();
            }
        }
        Some((self.src[start..self.pos].to_string(), start))
    }

    /// Reads `[atom, atom, ...]` (after blanks) and returns the atoms and the `[` offset.
    /// `what` names the list in error messages.
    pub(crate) fn atom_list(&mut self, what: &str) -> Result<(Vec<Atom>, usize)> {
        self.skip_ws();
        let open = self.pos;
        self.expect('[', &format!("'[' to start {what}"))?;
        let mut items = Vec::new();
        if self.eat(']') {
            return Ok((items, open));
        }
        loop {
            match self.atom() {
                Some(a) => items.push(a),
                None => {
                    let found = self.found();
                    return Err(self.error(format!("expected a literal in {what}, found {found}")));
                }
            }
            if self.eat(']') {
                return Ok((items, open));
            }
            self.expect(',', &format!("',' or ']' in {what}"))?;
        }
    }
}
