//! Property test: reading a rollout file never panics, whatever the text (arbitrary strings
//! and text built from YAML's and the rollout format's own tokens); bad input is an error.

use proptest::prelude::*;
use vaultops_rollout::Rollout;

fn yaml_like() -> impl Strategy<Value = String> {
    let parts = vec![
        "engine: openbao",
        "engine:",
        "secrets_engines:",
        "policies:",
        "auth_methods:",
        "approles:",
        "audit_devices:",
        "expect:",
        "- ",
        "  ",
        "    ",
        "\n",
        "path: secret",
        "type: kv",
        "version: 2",
        "name: a",
        "name: a",
        "rules: |",
        "file: x.hcl",
        "ttl: 1h",
        "ttl: -1",
        "token_ttl: 99999999999999999999",
        "{",
        "}",
        "[",
        "]",
        ":",
        "'",
        "\"",
        "&a",
        "*a",
        "!!str",
        "---",
        "~",
        "null",
        "9e999",
        "@",
        "\t",
        "#",
    ];
    prop::collection::vec(prop::sample::select(parts), 0..60).prop_map(|v| v.join(""))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Rollout::from_yaml(&text, "fuzz.yaml");
    }

    #[test]
    fn rollout_shaped_text_never_panics(text in yaml_like()) {
        let _ = Rollout::from_yaml(&text, "fuzz.yaml");
    }
}
