//! The parsed file, normalised into [`Node`]s with line numbers: HCL v1 reads `name = { … }`
//! and `name { … }` the same way, so the walk sees one shape for both.

use super::*;

pub(super) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// 1-based line of byte `offset`.
    pub(super) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    pub(super) fn line_of(&self, span: Option<std::ops::Range<usize>>) -> usize {
        span.map_or(0, |r| self.line(r.start))
    }
}

/// An attribute or a block (an attribute whose value is an object counts as a block).
pub(super) struct Node<'a> {
    pub(super) name: String,
    pub(super) labels: Vec<String>,
    pub(super) line: usize,
    pub(super) kind: NodeKind<'a>,
}

pub(super) enum NodeKind<'a> {
    Value(&'a Expression),
    Body(Vec<Node<'a>>),
}

impl Node<'_> {
    pub(super) fn is_block(&self) -> bool {
        matches!(self.kind, NodeKind::Body(_))
    }

    pub(super) fn children(&self) -> &[Self] {
        match &self.kind {
            NodeKind::Body(nodes) => nodes,
            NodeKind::Value(_) => &[],
        }
    }

    pub(super) fn expr(&self) -> Option<&Expression> {
        match self.kind {
            NodeKind::Value(e) => Some(e),
            NodeKind::Body(_) => None,
        }
    }
}

pub(super) fn body_nodes<'a>(body: &'a Body, lines: &LineIndex) -> Vec<Node<'a>> {
    body.iter()
        .map(|structure| match structure {
            Structure::Attribute(attr) => Node {
                name: attr.key.as_str().to_owned(),
                labels: Vec::new(),
                line: lines.line_of(attr.span()),
                kind: value_kind(&attr.value, lines),
            },
            Structure::Block(block) => Node {
                name: block.ident.as_str().to_owned(),
                labels: block.labels.iter().map(|l| l.as_str().to_owned()).collect(),
                line: lines.line_of(block.span()),
                kind: NodeKind::Body(body_nodes(&block.body, lines)),
            },
        })
        .collect()
}

pub(super) fn value_kind<'a>(expr: &'a Expression, lines: &LineIndex) -> NodeKind<'a> {
    match expr {
        Expression::Object(object) => NodeKind::Body(object_nodes(object, lines)),
        other => NodeKind::Value(other),
    }
}

pub(super) fn object_nodes<'a>(object: &'a Object, lines: &LineIndex) -> Vec<Node<'a>> {
    object
        .iter()
        .map(|(key, value)| {
            let name = match key.as_ident() {
                Some(ident) => ident.as_str().to_owned(),
                None => key
                    .as_expr()
                    .and_then(Expression::as_str)
                    .unwrap_or("<expression>")
                    .to_owned(),
            };
            Node {
                name,
                labels: Vec::new(),
                line: lines.line_of(key.span()),
                kind: value_kind(value.expr(), lines),
            }
        })
        .collect()
}

/// The value as text when it is a plain string, number or bool (HCL v1 decodes those weakly
/// into each other).
pub(super) fn scalar(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.value().clone()),
        Expression::Number(n) => Some(n.value().to_string()),
        Expression::Bool(b) => Some(b.value().to_string()),
        _ => None,
    }
}

pub(super) fn is_true(node: &Node<'_>) -> bool {
    node.expr()
        .and_then(scalar)
        .and_then(|s| parse_bool(&s))
        .unwrap_or(false)
}

/// Go's `strconv.ParseBool`, which the servers use for string booleans.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let idx = LineIndex::new("a\nbb\n\nc");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(1), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
    }

    #[test]
    fn go_booleans() {
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
