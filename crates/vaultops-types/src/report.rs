//! How an error is shown to a person: the message and every cause (`source()`) once, in
//! order, `: `-separated on the first line; lines a message carries after its first (a
//! node's log lines, a list of problems) follow the whole chain, so the cause is never
//! buried under them. The workspace's errors keep their cause out of their own message
//! (checked by `vaultops-tidy`), so nothing is printed twice and nothing is skipped.

use std::error::Error;

/// The error and its causes as described in the module documentation.
pub fn error_report(error: &(dyn Error + 'static)) -> String {
    let mut head = Vec::new();
    let mut tail = Vec::new();
    let mut cur = Some(error);
    while let Some(e) = cur {
        let text = e.to_string();
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        head.push(first.to_owned());
        if !rest.is_empty() {
            tail.push(rest.to_owned());
        }
        cur = e.source();
    }
    let mut out = head.join(": ");
    for block in tail {
        out.push('\n');
        out.push_str(&block);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Io;

    #[derive(Debug, thiserror::Error)]
    #[error("unsealing node2 failed")]
    struct Unseal(#[source] Io);

    #[derive(Debug, thiserror::Error)]
    #[error("testbed t: bootstrap failed\n--- node2 logs ---\nline 1")]
    struct Bootstrap(#[source] Unseal);

    #[test]
    fn every_cause_once_in_order_and_extra_lines_after_the_chain() {
        assert_eq!(error_report(&Io), "connection refused");
        assert_eq!(
            error_report(&Unseal(Io)),
            "unsealing node2 failed: connection refused"
        );
        assert_eq!(
            error_report(&Bootstrap(Unseal(Io))),
            "testbed t: bootstrap failed: unsealing node2 failed: connection refused\n\
             --- node2 logs ---\nline 1"
        );
    }

    #[test]
    fn a_cause_with_the_same_text_as_its_message_is_still_shown() {
        // No de-duplication: a repeated text means a repeated cause, which the tidy check
        // forbids at the source instead of hiding it here.
        #[derive(Debug, thiserror::Error)]
        #[error("connection refused")]
        struct Wrapper(#[source] Io);
        assert_eq!(
            error_report(&Wrapper(Io)),
            "connection refused: connection refused"
        );
    }
}
