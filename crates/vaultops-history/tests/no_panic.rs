//! Property test: the history parser and the checker never panic, whatever the text
//! (arbitrary strings and JSONL built from the event format's own fields); a bad history is
//! an error naming its line, and whatever parses can be checked.

use proptest::prelude::*;
use vaultops_history::{check_with, operations, parse_jsonl, CheckOptions};

fn event_line() -> impl Strategy<Value = String> {
    (
        0u64..4,
        prop::sample::select(vec!["invoke", "ok", "fail", "info", "bogus"]),
        prop::sample::select(vec!["write", "read", "cas"]),
        prop::sample::select(vec!["k1", "k2"]),
        prop::sample::select(vec![
            "\"a\"", "\"b\"", "null", "[\"a\",\"b\"]", "[null,\"a\"]", "3", "[\"a\"]",
        ]),
        0u32..50,
    )
        .prop_map(|(p, t, f, k, v, time)| {
            format!(
                "{{\"process\": {p}, \"type\": \"{t}\", \"f\": \"{f}\", \"key\": \"{k}\", \"value\": {v}, \"time\": {}}}",
                f64::from(time) / 10.0
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse_jsonl(&text);
    }

    #[test]
    fn event_shaped_histories_parse_or_fail_and_whatever_parses_is_checked(
        lines in prop::collection::vec(event_line(), 0..24)
    ) {
        let text = lines.join("\n");
        if let Ok(events) = parse_jsonl(&text) {
            let ops = operations(&events).expect("parse_jsonl already paired them");
            let _ = check_with(&ops, &CheckOptions { max_steps_per_key: 20_000 });
        }
    }
}
