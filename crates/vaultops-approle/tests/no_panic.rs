//! Property test: the dotenv parser never panics, whatever the text (arbitrary strings and
//! text built from the format's own characters); bad input is an error, not a crash.

use proptest::prelude::*;

fn dotenv_like() -> impl Strategy<Value = String> {
    let parts = vec![
        "A",
        "VAULT_ADDR",
        "_x1",
        "=",
        "==",
        "\"",
        "'",
        "\\",
        "\\n",
        "\n",
        "\r\n",
        " ",
        "\t",
        "#",
        "export ",
        "${",
        "}",
        "$",
        "value",
        "é",
        "\u{0}",
    ];
    prop::collection::vec(prop::sample::select(parts), 0..80).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = vaultops_approle::parse_dotenv(&text);
    }

    #[test]
    fn dotenv_shaped_text_never_panics(text in dotenv_like()) {
        let _ = vaultops_approle::parse_dotenv(&text);
    }
}
