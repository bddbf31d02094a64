//! Property test: `config lint` never panics, whatever the text (arbitrary strings and text
//! built from HCL's and the server config's own tokens), for both engines.

use proptest::prelude::*;
use vaultops_config::{lint, HostFacts};
use vaultops_types::Engine;

fn hcl_like() -> impl Strategy<Value = String> {
    let parts = vec![
        "storage",
        "\"raft\"",
        "listener",
        "\"tcp\"",
        "seal",
        "audit",
        "{",
        "}",
        "[",
        "]",
        "=",
        "\n",
        " ",
        "\"",
        "path",
        "address",
        "\"0.0.0.0:8200\"",
        "tls_disable",
        "true",
        "1",
        "disable_mlock",
        "ui",
        "log_raw",
        "cluster_addr",
        "retry_join",
        "#",
        "//",
        "/*",
        "*/",
        "<<EOF\n",
        "EOF\n",
        "${",
        ",",
        ".",
        "-1",
        "1e999",
        "telemetry",
        "options",
    ];
    prop::collection::vec(prop::sample::select(parts), 0..80).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        for engine in [Engine::OpenBao, Engine::Vault] {
            let _ = lint(&text, engine, &HostFacts::default());
        }
    }

    #[test]
    fn hcl_shaped_text_never_panics(text in hcl_like()) {
        for engine in [Engine::OpenBao, Engine::Vault] {
            let _ = lint(&text, engine, &HostFacts::default());
        }
    }
}
