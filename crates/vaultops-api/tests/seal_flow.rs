//! init / unseal / seal / generate-root against real TLS raft nodes.

use std::time::Duration;
use vaultops_api::{
    decode_otp_root_token, GenerateRootEndpoint, GenerateRootProtection, InitRequest, KeySplit,
    NodeRole,
};
use vaultops_testkit::{Cluster, ClusterOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_unseal_and_generate_root_with_otp() {
    let c = Cluster::start(ClusterOptions {
        nodes: 1,
        bootstrap: false,
        ..Default::default()
    })
    .await;
    let n = c.client(0);
    assert!(!n.init_status().await.unwrap());
    assert_eq!(n.health().await.unwrap().role, NodeRole::Uninitialized);

    // One PGP key for five shares is refused before anything is sent.
    let mut bad = InitRequest::shamir(KeySplit::new(5, 3).unwrap());
    bad.pgp_keys = vec!["a2V5".into()];
    let err = n.init(&bad).await.unwrap_err();
    assert!(err.to_string().contains("1 PGP keys for 5 shares"), "{err}");
    assert!(!n.init_status().await.unwrap(), "nothing was sent");

    let init = n
        .init(&InitRequest::shamir(KeySplit::new(5, 3).unwrap()))
        .await
        .unwrap();
    assert_eq!(init.keys.len(), 5);
    assert_eq!(init.keys_base64.len(), 5);
    assert!(
        init.root_token.expose().starts_with("s."),
        "OpenBao root tokens look like s.…"
    );
    // Initializing twice is refused by the server with its message.
    let again = n
        .init(&InitRequest::shamir(KeySplit::new(5, 3).unwrap()))
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(400), "{again}");

    // Unseal: progress counts, the third share opens it; hex shares work like base64 ones.
    let s = n.unseal(&init.keys[0]).await.unwrap();
    assert_eq!((s.sealed, s.progress, s.t, s.n), (true, 1, 3, 5));
    let s = n.unseal_reset().await.unwrap();
    assert_eq!(s.progress, 0);
    for k in &init.keys_base64[1..4] {
        n.unseal(k).await.unwrap();
    }
    let s = n.seal_status().await.unwrap();
    assert!(!s.sealed);

    // A malformed share: 400 with the server's message.
    let root = n.with_token(init.root_token.clone());
    c.nodes_set(false)
        .wait_active(Duration::from_secs(30))
        .await
        .unwrap();
    root.seal().await.unwrap();
    let err = n
        .unseal(&vaultops_api::UnsealKey::new("this-is-not-a-key"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.server_errors()[0].contains("must be a valid hex or base64"),
        "{err:?}"
    );
    for k in &init.keys_base64[..3] {
        n.unseal(k).await.unwrap();
    }
    c.nodes_set(false)
        .wait_active(Duration::from_secs(30))
        .await
        .unwrap();

    // OpenBao 2.7 disables the unauthenticated generate-root endpoints (405).
    let legacy = n
        .generate_root_start(
            GenerateRootEndpoint::Unauthenticated,
            &GenerateRootProtection::Otp,
        )
        .await
        .unwrap_err();
    assert_eq!(legacy.status(), Some(405), "{legacy}");

    // A break-glass token (orphan: it must outlive root) allowed only on
    // sys/generate-root-token, then revoke root.
    root.policy_write(
        "break-glass",
        r#"path "sys/generate-root-token/*" { capabilities = ["create", "read", "update", "delete", "sudo"] }"#,
    )
    .await
    .unwrap();
    let glass = root
        .token_create_orphan(&vaultops_api::TokenCreateRequest {
            policies: vec!["break-glass".into()],
            no_default_policy: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    root.token_revoke_self().await.unwrap();
    assert!(root
        .token_lookup_self()
        .await
        .unwrap_err()
        .is_permission_denied());
    let ep = GenerateRootEndpoint::Authenticated;
    let anon = n
        .generate_root_start(ep, &GenerateRootProtection::Otp)
        .await
        .unwrap_err();
    assert!(anon.is_permission_denied(), "{anon}");
    let n = n.with_token(glass.client_token);
    let start = n
        .generate_root_start(ep, &GenerateRootProtection::Otp)
        .await
        .unwrap();
    assert!(start.started);
    let otp = start.otp.clone().expect("the server generates the OTP");
    let mut status = start;
    for k in &init.keys_base64[..3] {
        status = n.generate_root_update(ep, k, &status.nonce).await.unwrap();
    }
    assert!(status.complete);
    let encoded = status
        .encoded_token
        .or(status.encoded_root_token)
        .expect("encoded token");
    let new_root = decode_otp_root_token(&encoded, &otp).unwrap();
    let info = n.with_token(new_root).token_lookup_self().await.unwrap();
    assert!(info.policies.contains(&"root".to_string()), "{info:?}");

    // Cancel leaves no attempt behind.
    n.generate_root_start(ep, &GenerateRootProtection::Otp)
        .await
        .unwrap();
    assert!(n.generate_root_status(ep).await.unwrap().started);
    n.generate_root_cancel(ep).await.unwrap();
    assert!(!n.generate_root_status(ep).await.unwrap().started);
}
