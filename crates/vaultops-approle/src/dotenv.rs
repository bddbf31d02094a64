//! Pure dotenv handling: parsing a `.env` text into entries with line numbers, and editing
//! chosen keys of an env file while leaving every other line byte for byte. No I/O.
//!
//! # Dialect
//!
//! The Flask/Celery application loads its `.env` with python-dotenv, so this parser reads
//! what python-dotenv reads, **without interpolation** (a migration copies values exactly):
//!
//! - `KEY=value`, `KEY = value` and `export KEY=value`; keys are letters, digits, `_`, `.`
//!   and `-`, not starting with a digit.
//! - Blank lines and full-line `#` comments are skipped.
//! - Unquoted values are trimmed; a `#` preceded by a space or tab starts a comment
//!   (`A=b#c` is `b#c`, `A=b #c` is `b`, `A=#c` is `#c`, `A= #c` is empty). `KEY=` is
//!   the empty string.
//! - `'single'` quotes are literal except `\\` and `\'`; `"double"` quotes decode `\n`,
//!   `\r`, `\t`, `\"`, `\\`, `\'`, `\a`, `\b`, `\f`, `\v` and keep any other backslash as is.
//!   Both may span lines; after the closing quote only blanks and a `# comment` may follow.
//! - `${VAR}` is kept literally (python-dotenv would expand it in unquoted and double-quoted
//!   values: [`EnvEntry::may_interpolate`] flags those entries so a caller can warn).
//! - A leading UTF-8 BOM is ignored; CRLF line ends are read as LF.
//!
//! Unlike python-dotenv, which skips what it cannot read with a warning, every malformed
//! line is an error naming its line number, and a key defined twice is an error naming both
//! lines. Error messages never include a value (a malformed line may be a pasted secret).
//!
//! `dotenvy` was considered and not used: its errors carry a column, not a line number,
//! it accepts duplicate keys silently, and it expands `$VAR`.

use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use zeroize::Zeroizing;

/// How a value was written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// `KEY=value`.
    None,
    /// `KEY='value'`.
    Single,
    /// `KEY="value"`.
    Double,
}

/// One `KEY=value` of a dotenv text. `Debug` redacts the value.
#[derive(Debug, Clone)]
pub struct EnvEntry {
    /// The key, as written.
    pub key: String,
    /// The decoded value.
    pub value: SecretString,
    /// 1-based line of the key.
    pub line: usize,
    /// 1-based line where the value ends (differs from `line` for multi-line quoted values).
    pub end_line: usize,
    /// Written with an `export ` prefix.
    pub export: bool,
    /// How the value was quoted.
    pub quoting: Quoting,
}

impl EnvEntry {
    /// The decoded value. Call only where the value must leave the process (a KV write).
    pub fn expose_value(&self) -> &str {
        self.value.expose_secret()
    }

    /// True when python-dotenv would expand `${…}` in this value (unquoted or
    /// double-quoted and containing `${`); this parser keeps it literally.
    pub fn may_interpolate(&self) -> bool {
        self.quoting != Quoting::Single && self.expose_value().contains("${")
    }
}

/// Why a dotenv text could not be read. Never contains a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DotenvError {
    /// A line that is not `KEY=VALUE`, a comment or blank.
    #[error("line {line}: expected KEY=VALUE (e.g. DATABASE_URL=postgres://db/atmr): {detail}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: &'static str,
    },
    /// The text before `=` is not a usable key.
    #[error("line {line}: {key:?} is not a valid key: use letters, digits, '_', '.' or '-', starting with a letter or '_'")]
    InvalidKey {
        /// 1-based line number.
        line: usize,
        /// The rejected key.
        key: String,
    },
    /// A quote that is never closed.
    #[error("line {line}: the {quote} quote that opens the value of {key} is never closed; close it (values span lines only inside quotes)")]
    Unterminated {
        /// 1-based line where the quote opens.
        line: usize,
        /// The key whose value it is.
        key: String,
        /// `'` or `"`.
        quote: char,
    },
    /// Text after a closing quote.
    #[error("line {line}: unexpected text after the closing quote of {key}; quote the whole value, or start a comment with '#'")]
    AfterQuote {
        /// 1-based line of the closing quote.
        line: usize,
        /// The key whose value it is.
        key: String,
    },
    /// The same key twice.
    #[error("{key} is defined twice, on line {first} and on line {second}; keep one of them")]
    Duplicate {
        /// The key.
        key: String,
        /// Line of the first definition.
        first: usize,
        /// Line of the second definition.
        second: usize,
    },
}

impl DotenvError {
    /// The 1-based line the error is about (the second line for a duplicate).
    pub fn line(&self) -> usize {
        match self {
            DotenvError::Malformed { line, .. }
            | DotenvError::InvalidKey { line, .. }
            | DotenvError::Unterminated { line, .. }
            | DotenvError::AfterQuote { line, .. } => *line,
            DotenvError::Duplicate { second, .. } => *second,
        }
    }
}

/// Parses a dotenv text into its entries, in file order.
pub fn parse(text: &str) -> Result<Vec<EnvEntry>, DotenvError> {
    let normalized = normalize(text);
    let mut c = Cursor::new(&normalized);
    let mut entries = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    loop {
        c.skip_blanks();
        match c.peek() {
            None => break,
            Some('\n') => {
                c.bump();
                continue;
            }
            Some('#') => {
                c.take_line();
                continue;
            }
            Some(_) => {}
        }
        let entry = parse_entry(&mut c)?;
        if let Some(first) = seen.insert(entry.key.clone(), entry.line) {
            return Err(DotenvError::Duplicate {
                key: entry.key,
                first,
                second: entry.line,
            });
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Sets `updates` (key, value) in a dotenv text: a key that exists has its whole definition
/// (all its lines, for a multi-line value) replaced in place, keeping its `export ` prefix;
/// a key that does not exist is appended at the end. Every other line (comments, other keys,
/// blank lines) stays byte for byte. The text must parse ([`parse`]): editing a file this
/// parser cannot read could corrupt it.
pub fn set_keys(text: &str, updates: &[(&str, &str)]) -> Result<Zeroizing<String>, DotenvError> {
    let entries = parse(text)?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let eol = if lines.first().is_some_and(|l| l.ends_with("\r\n")) {
        "\r\n"
    } else {
        "\n"
    };
    // Per line: what replaces it (`Some(text)` on the first line of a replaced entry,
    // `Some("")` on its other lines); `None` keeps the line.
    let mut replaced: Vec<Option<Zeroizing<String>>> = vec![None; lines.len()];
    let mut appended = Zeroizing::new(String::new());
    for (key, value) in updates {
        match entries.iter().find(|e| e.key == *key) {
            Some(e) => {
                let last = lines[e.end_line - 1];
                let terminator = if last.ends_with("\r\n") {
                    "\r\n"
                } else if last.ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                let export = if e.export { "export " } else { "" };
                replaced[e.line - 1] = Some(Zeroizing::new(format!(
                    "{export}{key}={}{terminator}",
                    *format_value(value)
                )));
                for slot in &mut replaced[e.line..e.end_line] {
                    *slot = Some(Zeroizing::new(String::new()));
                }
            }
            None => {
                appended.push_str(&format!("{key}={}{eol}", *format_value(value)));
            }
        }
    }
    let mut out = Zeroizing::new(String::with_capacity(text.len() + appended.len()));
    for (line, new) in lines.iter().zip(&replaced) {
        match new {
            Some(n) => out.push_str(n),
            None => out.push_str(line),
        }
    }
    if !appended.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(&appended);
    }
    Ok(out)
}

/// Writes a value so that [`parse`] (and python-dotenv and Docker Compose) read it back
/// unchanged: bare when it is made of plainly safe characters, single-quoted when it has no
/// quote, backslash or line break, double-quoted with escapes otherwise.
pub fn format_value(value: &str) -> Zeroizing<String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./:@%+,=~-".contains(c);
    if value.chars().all(safe) {
        return Zeroizing::new(value.to_owned());
    }
    if !value.contains(['\'', '\\', '\n', '\r']) {
        return Zeroizing::new(format!("'{value}'"));
    }
    let mut out = Zeroizing::new(String::with_capacity(value.len() + 8));
    out.push('"');
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Drops a leading BOM and turns CRLF into LF (line numbers stay the same).
fn normalize(text: &str) -> Zeroizing<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Zeroizing::new(text.replace("\r\n", "\n"))
}

fn parse_entry(c: &mut Cursor<'_>) -> Result<EnvEntry, DotenvError> {
    let line = c.line;
    let export = c.eat_export();
    let start = c.pos;
    while let Some(ch) = c.peek() {
        if matches!(ch, '=' | ' ' | '\t' | '\n') {
            break;
        }
        c.bump();
    }
    let key = c.text[start..c.pos].to_owned();
    c.skip_blanks();
    // The key is empty only when the line starts with '=' (blanks are skipped before).
    if c.peek() != Some('=') {
        return Err(DotenvError::Malformed {
            line,
            detail: "no '=' after the first word",
        });
    }
    if key.is_empty() {
        return Err(DotenvError::Malformed {
            line,
            detail: "no key before '='",
        });
    }
    if !valid_key(&key) {
        return Err(DotenvError::InvalidKey { line, key });
    }
    c.bump(); // '='
    let blank_after_eq = matches!(c.peek(), Some(' ' | '\t'));
    c.skip_blanks();
    let (value, quoting) = match c.peek() {
        Some(q @ ('"' | '\'')) => {
            c.bump();
            let value = c.quoted(q).ok_or_else(|| DotenvError::Unterminated {
                line,
                key: key.clone(),
                quote: q,
            })?;
            let close_line = c.line;
            c.skip_blanks();
            match c.peek() {
                None | Some('\n') => {}
                Some('#') => {
                    c.take_line();
                }
                Some(_) => {
                    return Err(DotenvError::AfterQuote {
                        line: close_line,
                        key,
                    })
                }
            }
            let quoting = if q == '"' {
                Quoting::Double
            } else {
                Quoting::Single
            };
            (value, quoting)
        }
        _ => (c.unquoted(blank_after_eq), Quoting::None),
    };
    let end_line = c.line;
    // Step over the line end so the next entry starts on a fresh line.
    if c.peek() == Some('\n') {
        c.bump();
    }
    Ok(EnvEntry {
        key,
        // Copied into an exactly sized secret; `value` zeroizes its buffer on drop.
        value: SecretString::from(value.as_str()),
        line,
        end_line,
        export,
        quoting,
    })
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A position in the normalized text with its 1-based line number.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            line: 1,
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.pos += ch.len_utf8();
        if ch == '\n' {
            self.line += 1;
        }
        Some(ch)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    /// Consumes up to (not including) the next line end.
    fn take_line(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest.find('\n').unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// `export` followed by blanks and something that is not `=` is a prefix; `export=1`
    /// is a key named `export`.
    fn eat_export(&mut self) -> bool {
        let Some(after) = self.rest().strip_prefix("export") else {
            return false;
        };
        if !after.starts_with([' ', '\t']) {
            return false;
        }
        let next = after.trim_start_matches([' ', '\t']);
        if next.is_empty() || next.starts_with(['=', '\n']) {
            return false;
        }
        self.pos += "export".len();
        self.skip_blanks();
        true
    }

    /// An unquoted value up to a comment. `blank_before` says whether blanks preceded it
    /// (after `=`): then a leading `#` starts a comment too (`A= #x` is empty, `A=#x` is
    /// `#x`), as in python-dotenv.
    fn unquoted(&mut self, blank_before: bool) -> Zeroizing<String> {
        let raw = self.take_line();
        let mut end = raw.len();
        let mut prev = blank_before.then_some(' ');
        for (i, ch) in raw.char_indices() {
            if ch == '#' && matches!(prev, Some(' ' | '\t')) {
                end = i;
                break;
            }
            prev = Some(ch);
        }
        Zeroizing::new(raw[..end].trim_end_matches([' ', '\t']).to_owned())
    }

    /// Reads a quoted value after its opening quote, through its closing quote. `None`
    /// when the text ends first.
    fn quoted(&mut self, quote: char) -> Option<Zeroizing<String>> {
        let mut out = Zeroizing::new(String::new());
        loop {
            let ch = self.bump()?;
            if ch == quote {
                return Some(out);
            }
            if ch != '\\' {
                out.push(ch);
                continue;
            }
            let next = self.bump()?;
            let decoded = match (quote, next) {
                (_, '\\') => Some('\\'),
                (_, '\'') => Some('\''),
                ('"', '"') => Some('"'),
                ('"', 'n') => Some('\n'),
                ('"', 'r') => Some('\r'),
                ('"', 't') => Some('\t'),
                ('"', 'a') => Some('\u{7}'),
                ('"', 'b') => Some('\u{8}'),
                ('"', 'f') => Some('\u{c}'),
                ('"', 'v') => Some('\u{b}'),
                _ => None,
            };
            match decoded {
                Some(d) => out.push(d),
                None => {
                    out.push('\\');
                    out.push(next);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key.clone(), e.expose_value().to_owned()))
            .collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_the_common_forms() {
        let text = "\
# full-line comment
   # indented comment

PLAIN=value
SPACED = spaced value  
export EXPORTED=yes
export\tTABBED=1
EMPTY=
EMPTY_QUOTED=\"\"
URL=postgres://u:p@db:5432/atmr?sslmode=require
HASH=abc#def
COMMENTED=abc # trailing comment
LEADING_HASH=#notacomment
BLANK_THEN_HASH= #only a comment
SINGLE='it''s'
";
        // 'it''s' is two quoted strings back to back: text after the closing quote.
        let e = parse(text).unwrap_err();
        assert_eq!(
            e,
            DotenvError::AfterQuote {
                line: 15,
                key: "SINGLE".into()
            }
        );
        let text = text.replace("SINGLE='it''s'", "SINGLE='a \"b\" #c' # comment");
        assert_eq!(
            kv(&text),
            pairs(&[
                ("PLAIN", "value"),
                ("SPACED", "spaced value"),
                ("EXPORTED", "yes"),
                ("TABBED", "1"),
                ("EMPTY", ""),
                ("EMPTY_QUOTED", ""),
                ("URL", "postgres://u:p@db:5432/atmr?sslmode=require"),
                ("HASH", "abc#def"),
                ("COMMENTED", "abc"),
                ("LEADING_HASH", "#notacomment"),
                ("BLANK_THEN_HASH", ""),
                ("SINGLE", "a \"b\" #c"),
            ])
        );
        let entries = parse(&text).unwrap();
        assert!(entries[2].export && !entries[0].export);
        assert_eq!(entries[0].line, 4);
        assert_eq!(entries[11].quoting, Quoting::Single);
    }

    #[test]
    fn double_quotes_decode_escapes_and_span_lines() {
        let text = "A=\"line1\\nline2\\t\\\"q\\\" back\\\\slash \\$HOME \\x\"\nPEM=\"-----BEGIN KEY-----\nMIIB\n-----END KEY-----\"  # the key\nB=after\n";
        let entries = parse(text).unwrap();
        assert_eq!(
            entries[0].expose_value(),
            "line1\nline2\t\"q\" back\\slash \\$HOME \\x"
        );
        assert_eq!(
            entries[1].expose_value(),
            "-----BEGIN KEY-----\nMIIB\n-----END KEY-----"
        );
        assert_eq!((entries[1].line, entries[1].end_line), (2, 4));
        assert_eq!((entries[2].key.as_str(), entries[2].line), ("B", 5));
        assert_eq!(entries[1].quoting, Quoting::Double);
    }

    #[test]
    fn single_quotes_are_literal_but_for_backslash_and_quote() {
        let text = "A='$HOME \\n \\\\ \\' \"x\"'\nB='multi\nline'\n";
        let e = parse(text).unwrap();
        assert_eq!(e[0].expose_value(), "$HOME \\n \\ ' \"x\"");
        assert_eq!(e[1].expose_value(), "multi\nline");
        assert!(!e[0].may_interpolate());
    }

    #[test]
    fn crlf_bom_and_missing_final_newline() {
        let text = "\u{feff}A=1\r\nB=\"x\r\ny\"\r\nC=3";
        assert_eq!(kv(text), pairs(&[("A", "1"), ("B", "x\ny"), ("C", "3")]));
    }

    #[test]
    fn export_is_a_prefix_only_before_a_key() {
        assert_eq!(
            kv("export=1\nexport X=2\nexporter=3\n"),
            pairs(&[("export", "1"), ("X", "2"), ("exporter", "3")])
        );
    }

    #[test]
    fn interpolation_is_flagged_not_applied() {
        let e = parse("A=${HOME}/x\nB='${HOME}'\nC=\"${X}\"\nD=$HOME\n").unwrap();
        assert_eq!(e[0].expose_value(), "${HOME}/x");
        let flagged: Vec<bool> = e.iter().map(EnvEntry::may_interpolate).collect();
        assert_eq!(flagged, [true, false, true, false]);
    }

    #[test]
    fn malformed_lines_name_their_line_and_never_the_value() {
        let cases: &[(&str, DotenvError)] = &[
            (
                "A=1\nsk-live-SECRETVALUE\n",
                DotenvError::Malformed {
                    line: 2,
                    detail: "no '=' after the first word",
                },
            ),
            (
                "A=1\n\nSECRET PASSWORD=x\n",
                DotenvError::Malformed {
                    line: 3,
                    detail: "no '=' after the first word",
                },
            ),
            (
                "=value\n",
                DotenvError::Malformed {
                    line: 1,
                    detail: "no key before '='",
                },
            ),
            (
                "A=1\n1BAD=x\n",
                DotenvError::InvalidKey {
                    line: 2,
                    key: "1BAD".into(),
                },
            ),
            (
                "A=1\nB=\"open SECRETVALUE\nC=3\n",
                DotenvError::Unterminated {
                    line: 2,
                    key: "B".into(),
                    quote: '"',
                },
            ),
            (
                "B='open\n",
                DotenvError::Unterminated {
                    line: 1,
                    key: "B".into(),
                    quote: '\'',
                },
            ),
            (
                "B=\"ends in backslash\\",
                DotenvError::Unterminated {
                    line: 1,
                    key: "B".into(),
                    quote: '"',
                },
            ),
            (
                "A=\"x\ny\" SECRETVALUE\n",
                DotenvError::AfterQuote {
                    line: 2,
                    key: "A".into(),
                },
            ),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap_err();
            assert_eq!(&got, want, "{text:?}");
            assert!(!got.to_string().contains("SECRETVALUE"), "{got}");
            assert!(got
                .to_string()
                .starts_with(&format!("line {}", want.line())));
        }
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let e = parse("A=1\nB=2\n# c\nexport A=3\n").unwrap_err();
        assert_eq!(
            e,
            DotenvError::Duplicate {
                key: "A".into(),
                first: 1,
                second: 4
            }
        );
        assert_eq!(
            e.to_string(),
            "A is defined twice, on line 1 and on line 4; keep one of them"
        );
    }

    #[test]
    fn debug_redacts_values() {
        let e = parse("A=supersecret\n").unwrap();
        assert!(!format!("{e:?}").contains("supersecret"));
    }

    #[test]
    fn format_value_round_trips_through_parse() {
        let values = [
            "",
            "plain-1.2_3",
            "https://vault.example.com:8200",
            "with space",
            "dollar $HOME",
            "it's",
            "back\\slash",
            "multi\nline\r\n\ttab \"quoted\"",
            "#hash",
            "ünïcode",
        ];
        for v in values {
            let text = format!("K={}\n", *format_value(v));
            let e = parse(&text).unwrap();
            assert_eq!(e[0].expose_value(), v, "{text:?}");
        }
        assert_eq!(*format_value("abc-123"), "abc-123");
        assert_eq!(*format_value("/a b/ca.pem"), "'/a b/ca.pem'");
    }

    #[test]
    fn set_keys_replaces_in_place_and_keeps_everything_else() {
        let text = "# app settings\nFLASK_ENV=production\nexport VAULT_SECRET_ID=old # note\n\nPEM=\"a\nb\"\nVAULT_ROLE_ID=\"multi\nline\"\nLAST=1";
        let out = set_keys(
            text,
            &[
                ("VAULT_ROLE_ID", "role-1"),
                ("VAULT_SECRET_ID", "new secret"),
                ("VAULT_ADDR", "https://v:8200"),
            ],
        )
        .unwrap();
        assert_eq!(
            *out,
            "# app settings\nFLASK_ENV=production\nexport VAULT_SECRET_ID='new secret'\n\nPEM=\"a\nb\"\nVAULT_ROLE_ID=role-1\nLAST=1\nVAULT_ADDR=https://v:8200\n"
        );
        // Applying the same values again changes nothing.
        let again = set_keys(
            &out,
            &[
                ("VAULT_ROLE_ID", "role-1"),
                ("VAULT_SECRET_ID", "new secret"),
                ("VAULT_ADDR", "https://v:8200"),
            ],
        )
        .unwrap();
        assert_eq!(*again, *out);
    }

    #[test]
    fn set_keys_keeps_crlf_and_works_on_empty_text() {
        let out = set_keys("A=1\r\nB=2\r\n", &[("A", "x"), ("C", "3")]).unwrap();
        assert_eq!(*out, "A=x\r\nB=2\r\nC=3\r\n");
        let out = set_keys("", &[("A", "1")]).unwrap();
        assert_eq!(*out, "A=1\n");
    }

    #[test]
    fn set_keys_refuses_a_text_it_cannot_read() {
        let e = set_keys("A=1\nbroken line\n", &[("A", "2")]).unwrap_err();
        assert_eq!(e.line(), 2);
    }
}
