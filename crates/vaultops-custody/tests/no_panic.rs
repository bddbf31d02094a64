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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The parser of a share typed at the unseal prompt: any text is a share or an error
    /// naming share 1, never a panic; an accepted share decodes to a share's length.
    #[test]
    fn typed_share_text_never_panics(text in any::<String>()) {
        match vaultops_custody::parse_share_text(&text, 1) {
            Ok(k) => prop_assert_eq!(k.expose(), text.trim()),
            Err(e) => prop_assert!(e.to_string().contains("share 1"), "{}", e),
        }
    }

    #[test]
    fn share_like_text_never_panics(text in "[A-Za-z0-9+/=! \\n]{0,80}") {
        let _ = vaultops_custody::parse_share_text(&text, 7);
    }
}
