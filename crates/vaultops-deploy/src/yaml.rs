//! The little YAML the generators need: quoted scalars and literal blocks. Manifests are
//! written as text (not serialised) so they can carry comments that say why.

/// `s` as a double-quoted YAML scalar. JSON string syntax is a subset of YAML's double-quoted
/// style, so serde_json's escaping is exactly right.
pub(crate) fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// `text` as the lines of a literal block scalar (`key: |` must precede it), each indented
/// by `indent` spaces. Keeps the final newline (`|` clips to exactly one).
pub(crate) fn literal_block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for line in text.trim_end_matches('\n').split('\n') {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&pad);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A YAML flow sequence of quoted strings: `["a", "b"]`.
pub(crate) fn flow_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| q(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// A block mapping of quoted label keys and values, indented by `indent` spaces.
pub(crate) fn label_map(labels: &[(&str, &str)], indent: usize) -> String {
    let pad = " ".repeat(indent);
    labels
        .iter()
        .map(|(k, v)| format!("{pad}{k}: {}\n", q(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_blocks() {
        assert_eq!(q("a\"b\n"), r#""a\"b\n""#);
        assert_eq!(q("true"), r#""true""#);
        assert_eq!(literal_block("a\n\n  b\n", 4), "    a\n\n      b\n");
        assert_eq!(flow_list(&["x", "y z"]), r#"["x", "y z"]"#);
        assert_eq!(label_map(&[("app", "v1")], 2), "  app: \"v1\"\n".to_owned());
    }
}
