//! Property test: reading an init bundle never panics, whatever the text (arbitrary strings
//! and JSON built from the bundle's own keys); a bad bundle is an error.

use proptest::prelude::*;
use vaultops_custody::InitBundle;

fn json_like() -> impl Strategy<Value = String> {
    let parts = vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"format\"",
        "\"vaultops-init-bundle/v1\"",
        "\"shares\"",
        "\"threshold\"",
        "\"sha256\"",
        "\"ciphertext\"",
        "\"index\"",
        "\"custody\"",
        "\"age\"",
        "\"pgp\"",
        "\"recipient\"",
        "\"root_token\"",
        "\"cluster_id\"",
        "\"seal_type\"",
        "0",
        "-1",
        "5",
        "3",
        "18446744073709551616",
        "null",
        "true",
        "\"\"",
        "\"x\"",
        " ",
        "\n",
    ];
    prop::collection::vec(prop::sample::select(parts), 0..80).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = InitBundle::from_json(&text);
    }

    #[test]
    fn bundle_shaped_text_never_panics(text in json_like()) {
        let _ = InitBundle::from_json(&text);
    }
}
