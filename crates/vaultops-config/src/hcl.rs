//! A minimal HCL writer: string quoting, attributes, (labelled) blocks, and `terraform fmt`-style
//! alignment of `=` across consecutive attributes. It knows nothing about Vault or OpenBao.
//!
//! Both servers parse their configuration with HCL **v1** (hashicorp/hcl 1.x), and the quoting
//! follows that parser, not HCL2: see [`quote`].

use std::fmt::Write as _;

/// Quotes `s` as an HCL v1 string literal; the only place where escaping happens.
///
/// - `"` and `\` are backslash-escaped; newline, carriage return and tab become `\n`, `\r`, `\t`;
///   other control characters become `\uXXXX`.
/// - `${` is written as `\u0024{`. HCL v1 copies everything between `${` and the matching `}`
///   verbatim (escapes inside are not processed, and a `"` inside does not end the string), so a
///   literal `${` cannot be escaped any other way. HCL2's `$${` would reach the server as `$${`.
/// - Everything else, including non-ASCII text, is written as is (the files are UTF-8).
///
/// OpenBao 2.7.2 was checked to read `"d \"q\" \\ \u0024{x} ü\ttab"` back as `d "q" \ ${x} ü<TAB>tab`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\u0024"),
            // All of Unicode's control characters are below U+10000, so four digits suffice.
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
}

impl Value {
    fn render(&self) -> String {
        match self {
            Value::Str(s) => quote(s),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
        }
    }
}

/// One item of a body, in output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Attr(&'static str, Value),
    Block(Block),
    /// An empty line (only between top-level items).
    Blank,
    /// A `# ...` comment line.
    Comment(String),
}

/// `name "label"… { body }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) name: &'static str,
    pub(crate) labels: Vec<String>,
    pub(crate) body: Body,
}

impl Block {
    pub(crate) fn new(name: &'static str, labels: &[&str], body: Body) -> Self {
        Self {
            name,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            body,
        }
    }
}

/// An ordered list of items with small builder helpers that skip absent optional values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Body(pub(crate) Vec<Item>);

impl Body {
    pub(crate) fn str(&mut self, key: &'static str, value: &str) -> &mut Self {
        self.0.push(Item::Attr(key, Value::Str(value.to_owned())));
        self
    }

    pub(crate) fn opt_str(&mut self, key: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.str(key, v);
        }
        self
    }

    pub(crate) fn bool(&mut self, key: &'static str, value: bool) -> &mut Self {
        self.0.push(Item::Attr(key, Value::Bool(value)));
        self
    }

    pub(crate) fn int(&mut self, key: &'static str, value: i64) -> &mut Self {
        self.0.push(Item::Attr(key, Value::Int(value)));
        self
    }

    pub(crate) fn block(&mut self, block: Block) -> &mut Self {
        self.0.push(Item::Block(block));
        self
    }

    pub(crate) fn blank(&mut self) -> &mut Self {
        self.0.push(Item::Blank);
        self
    }

    pub(crate) fn comment(&mut self, text: &str) -> &mut Self {
        self.0.push(Item::Comment(text.to_owned()));
        self
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Renders the body as a file (top level, no indentation), ending in one newline.
    pub(crate) fn to_file(&self) -> String {
        let mut out = String::new();
        write_body(&mut out, &self.0, 0);
        out
    }
}

fn write_body(out: &mut String, items: &[Item], depth: usize) {
    let indent = "  ".repeat(depth);
    let mut i = 0;
    while i < items.len() {
        match &items[i] {
            Item::Attr(..) => {
                // Align `=` over the run of consecutive attributes starting here.
                let run_end = items[i..]
                    .iter()
                    .position(|it| !matches!(it, Item::Attr(..)))
                    .map_or(items.len(), |p| i + p);
                let width = items[i..run_end]
                    .iter()
                    .map(|it| match it {
                        Item::Attr(k, _) => k.len(),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0);
                for it in &items[i..run_end] {
                    if let Item::Attr(key, value) = it {
                        let _ = writeln!(out, "{indent}{key:<width$} = {}", value.render());
                    }
                }
                i = run_end;
                continue;
            }
            Item::Block(block) => {
                let _ = write!(out, "{indent}{}", block.name);
                for label in &block.labels {
                    let _ = write!(out, " {}", quote(label));
                }
                if block.body.is_empty() {
                    out.push_str(" {}\n");
                } else {
                    out.push_str(" {\n");
                    write_body(out, &block.body.0, depth + 1);
                    let _ = writeln!(out, "{indent}}}");
                }
            }
            Item::Blank => out.push('\n'),
            Item::Comment(text) => {
                for line in text.lines() {
                    let _ = writeln!(out, "{indent}# {line}");
                }
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_plain_text_is_unchanged() {
        assert_eq!(
            quote("https://127.0.0.1:8200"),
            r#""https://127.0.0.1:8200""#
        );
        assert_eq!(quote(""), r#""""#);
        assert_eq!(quote("grüße/日本"), "\"grüße/日本\"");
    }

    #[test]
    fn quote_escapes_quotes_and_backslashes() {
        assert_eq!(quote(r#"a"b"#), r#""a\"b""#);
        assert_eq!(quote(r"C:\dir\"), r#""C:\\dir\\""#);
        assert_eq!(quote(r#"\""#), r#""\\\"""#);
    }

    #[test]
    fn quote_escapes_control_characters() {
        assert_eq!(quote("a\nb\r\tc"), r#""a\nb\r\tc""#);
        assert_eq!(
            quote("nul\0bell\u{7}del\u{7f}"),
            r#""nul\u0000bell\u0007del\u007f""#
        );
        assert_eq!(quote("c1\u{85}"), r#""c1\u0085""#);
    }

    #[test]
    fn quote_neutralises_interpolation_only_where_it_starts() {
        assert_eq!(quote("${HOSTNAME}"), r#""\u0024{HOSTNAME}""#);
        assert_eq!(quote("cost $5 {x} $"), r#""cost $5 {x} $""#);
        assert_eq!(quote("$${x}"), r#""$\u0024{x}""#);
        // An interpolation-looking value with a quote inside stays one closed string.
        assert_eq!(quote(r#"${"}"#), r#""\u0024{\"}""#);
    }

    #[test]
    fn attributes_align_per_run_and_blocks_nest() {
        let mut inner = Body::default();
        inner.str("a", "1").str("longer_key", "2");
        let mut body = Body::default();
        body.bool("ui", false)
            .str("cluster_name", "c")
            .blank()
            .block(Block::new("storage", &["raft"], inner))
            .blank()
            .block(Block::new("empty", &[], Body::default()));
        assert_eq!(
            body.to_file(),
            "ui           = false\n\
             cluster_name = \"c\"\n\
             \n\
             storage \"raft\" {\n  \
               a          = \"1\"\n  \
               longer_key = \"2\"\n\
             }\n\
             \n\
             empty {}\n"
        );
    }

    #[test]
    fn labels_are_quoted_too() {
        let mut body = Body::default();
        body.block(Block::new("audit", &["file", "we\"ird"], Body::default()));
        assert_eq!(body.to_file(), "audit \"file\" \"we\\\"ird\" {}\n");
    }
}
