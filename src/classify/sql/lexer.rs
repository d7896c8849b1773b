//! A small allocation-free SQL lexer: trivia and comments of every engine, opaque literals and
//! quoted identifiers, words, parentheses. Every position is clamped to the text and only
//! `get()` slices it, so no input can panic; every loop consumes input or stops.

/// The words of a text: runs of ASCII alphanumerics and `_` (for action names such as
/// "LOGOFF BY CLEANUP" or "PL/SQL EXECUTE").
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

pub fn is(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

pub fn is_any(word: &str, keywords: &[&str]) -> bool {
    keywords.iter().any(|k| word.eq_ignore_ascii_case(k))
}

pub fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

pub fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// One token; literals and quoted identifiers are opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok<'a> {
    Word(&'a str),
    Number(&'a str),
    Quoted,
    Open,
    Close,
    Semi,
    Punct(u8),
}

#[derive(Clone, Copy, Debug)]
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    pub fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    pub fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos.saturating_add(offset)).copied()
    }

    pub fn bump(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.src.len());
    }

    pub fn bump_while(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.bump(1);
        }
    }

    pub fn skip_line(&mut self) {
        self.bump_while(|b| b != b'\n');
    }

    /// At `/*`: skips a comment, nested (PostgreSQL); unterminated runs to the end.
    pub fn skip_block_comment(&mut self) {
        self.bump(2);
        let mut depth = 1usize;
        loop {
            match (self.peek(), self.peek_at(1)) {
                (None, _) => return,
                (Some(b'/'), Some(b'*')) => {
                    depth = depth.saturating_add(1);
                    self.bump(2);
                }
                (Some(b'*'), Some(b'/')) => {
                    depth = depth.saturating_sub(1);
                    self.bump(2);
                    if depth == 0 {
                        return;
                    }
                }
                _ => self.bump(1),
            }
        }
    }

    /// Whitespace (and a UTF-8 BOM) and comments.
    pub fn skip_trivia(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(b), _) if b.is_ascii_whitespace() || b == 0x0b => self.bump(1),
                (Some(0xEF), Some(0xBB)) if self.peek_at(2) == Some(0xBF) => self.bump(3),
                (Some(b'-'), Some(b'-')) => self.skip_line(),
                (Some(b'/'), Some(b'*')) => {
                    if self.peek_at(2) == Some(b'!') {
                        // MySQL executable comment: `/*!50001 CREATE … */` runs its content.
                        self.bump(3);
                        self.bump_while(|b| b.is_ascii_digit());
                    } else {
                        self.skip_block_comment();
                    }
                }
                _ => return,
            }
        }
    }

    /// Trivia, `#` comments, and the `(` / `;` that may precede a statement.
    pub fn skip_leading(&mut self) {
        loop {
            self.skip_trivia();
            match self.peek() {
                Some(b'#') => self.skip_line(),
                Some(b'(' | b';') => self.bump(1),
                _ => return,
            }
        }
    }

    pub fn take_ident(&mut self) -> &'a str {
        let start = self.pos;
        self.bump(1);
        self.bump_while(is_ident_continue);
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// The next token if it is a bare word; consumes nothing otherwise.
    pub fn word(&mut self) -> Option<&'a str> {
        self.skip_trivia();
        if self.peek().is_some_and(is_ident_start) {
            Some(self.take_ident())
        } else {
            None
        }
    }

    /// The next bare word without consuming it.
    pub fn peek_word(&self) -> Option<&'a str> {
        let mut ahead = *self;
        ahead.word()
    }

    /// At `q`: skips a quoted literal or identifier; a doubled quote is an escaped quote.
    pub fn skip_quoted(&mut self, q: u8, backslash_escapes: bool) {
        self.bump(1);
        loop {
            match self.peek() {
                None => return,
                Some(b'\\') if backslash_escapes => self.bump(2),
                Some(b) if b == q => {
                    if self.peek_at(1) == Some(q) {
                        self.bump(2);
                    } else {
                        self.bump(1);
                        return;
                    }
                }
                Some(_) => self.bump(1),
            }
        }
    }

    /// At `$`: skips a `$tag$ … $tag$` literal and returns true, or returns false (a `$1`
    /// parameter or a lone `$`) without consuming anything.
    pub fn skip_dollar_quote(&mut self) -> bool {
        let bytes = self.src.as_bytes();
        let start = self.pos;
        let mut end = start.saturating_add(1);
        if bytes
            .get(end)
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80)
        {
            while bytes
                .get(end)
                .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
            {
                end = end.saturating_add(1);
            }
        }
        if bytes.get(end) != Some(&b'$') {
            return false;
        }
        let body = end.saturating_add(1);
        let closing = self
            .src
            .get(start..body)
            .zip(self.src.get(body..))
            .and_then(|(tag, rest)| rest.find(tag).map(|i| i.saturating_add(tag.len())));
        self.pos = body;
        match closing {
            Some(len) => self.bump(len),
            None => self.pos = self.src.len(),
        }
        true
    }

    pub fn next_tok(&mut self) -> Option<Tok<'a>> {
        self.skip_trivia();
        let b = self.peek()?;
        let tok = match b {
            b'(' => {
                self.bump(1);
                Tok::Open
            }
            b')' => {
                self.bump(1);
                Tok::Close
            }
            b';' => {
                self.bump(1);
                Tok::Semi
            }
            b'\'' | b'"' => {
                self.skip_quoted(b, true);
                Tok::Quoted
            }
            b'`' => {
                self.skip_quoted(b, false);
                Tok::Quoted
            }
            b'$' if self.skip_dollar_quote() => Tok::Quoted,
            _ if is_ident_start(b) => Tok::Word(self.take_ident()),
            _ if b.is_ascii_digit() => {
                let start = self.pos;
                self.bump_while(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_');
                Tok::Number(self.src.get(start..self.pos).unwrap_or(""))
            }
            _ => {
                self.bump(1);
                Tok::Punct(b)
            }
        };
        Some(tok)
    }

    /// After an `(`: skips to the matching `)` (or the end).
    pub fn skip_group(&mut self) {
        let mut depth = 1usize;
        while let Some(tok) = self.next_tok() {
            match tok {
                Tok::Open => depth = depth.saturating_add(1),
                Tok::Close => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Calls `f` on each top-level word of the current statement until it returns a value;
    /// `None` at the end of the statement (`;`, an unmatched `)`, or the end of the text).
    pub fn scan_top_level<R>(&mut self, mut f: impl FnMut(&mut Self, &'a str) -> Option<R>) -> Option<R> {
        loop {
            match self.next_tok()? {
                Tok::Word(w) => {
                    if let Some(r) = f(self, w) {
                        return Some(r);
                    }
                }
                Tok::Open => self.skip_group(),
                Tok::Close | Tok::Semi => return None,
                Tok::Number(_) | Tok::Quoted | Tok::Punct(_) => {}
            }
        }
    }
}
