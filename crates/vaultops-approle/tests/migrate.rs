//! `.env` into KV v2 against a real OpenBao cluster: quoted, multi-line, escaped and
//! `export` lines arrive exactly (read back and compared with literal expectations), a
//! second run writes nothing, a dry run names keys and never values, a concurrent write is
//! refused (and merged over with `force`), and a deleted latest version is written over.

mod common;

use common::cluster;
use serde_json::{json, Value};
use vaultops_approle::parse_dotenv;
use vaultops_approle::{apply_migration, read_current_secret};
use vaultops_approle::{migrate, DotenvError, MigrateError, MigrateOptions};

const MOUNT: &str = "secret";
const PATH: &str = "atmr/config";

const DOTENV: &str = r#"# atmr-api settings (legacy .env)
FLASK_ENV=production
export DATABASE_URL="postgresql://atmr:p%40ss@db.internal:5432/atmr?sslmode=require"
export REDIS_URL=redis://redis:6379/0   # broker
SECRET_KEY='s3cr3t with spaces & $dollar and \'quote\''
JWT_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASC
-----END PRIVATE KEY-----"
ESCAPED="tab\there \"quoted\" back\\slash newline\nend"
EMPTY=
HASH_IN_VALUE=abc#def
MAIL_FROM = "ATMR <noreply@example.com>"
TEMPLATE=${HOME}/templates
"#;

fn expected() -> Value {
    json!({
        "FLASK_ENV": "production",
        "DATABASE_URL": "postgresql://atmr:p%40ss@db.internal:5432/atmr?sslmode=require",
        "REDIS_URL": "redis://redis:6379/0",
        "SECRET_KEY": "s3cr3t with spaces & $dollar and 'quote'",
        "JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        "ESCAPED": "tab\there \"quoted\" back\\slash newline\nend",
        "EMPTY": "",
        "HASH_IN_VALUE": "abc#def",
        "MAIL_FROM": "ATMR <noreply@example.com>",
        "TEMPLATE": "${HOME}/templates",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_env_imports_exactly_and_is_idempotent() {
    let (_c, root) = cluster().await;
    let entries = parse_dotenv(DOTENV).unwrap();

    // Dry run first: keys only, nothing written.
    let dry = migrate(
        &root,
        MOUNT,
        PATH,
        &entries,
        &MigrateOptions {
            dry_run: true,
            force: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(dry.added.len(), 10);
    assert_eq!(dry.written_version, None);
    assert!(
        root.kv_read(MOUNT, PATH).await.unwrap().is_none(),
        "dry run wrote nothing"
    );
    let shown = format!("{dry}{}", serde_json::to_string(&dry).unwrap());
    for v in ["s3cr3t", "BEGIN PRIVATE", "p%40ss", "production"] {
        assert!(
            !shown.contains(v),
            "a value leaked into the dry-run report: {shown}"
        );
    }
    assert!(
        shown.contains("would add: FLASK_ENV, DATABASE_URL"),
        "{shown}"
    );

    let first = migrate(&root, MOUNT, PATH, &entries, &MigrateOptions::default())
        .await
        .unwrap();
    assert_eq!((first.read_version, first.written_version), (0, Some(1)));
    assert_eq!(first.literal_interpolation, ["TEMPLATE"]);
    let stored = root.kv_read(MOUNT, PATH).await.unwrap().unwrap();
    assert_eq!(Value::Object(stored.data), expected());

    // Second run: nothing changes, nothing is written.
    let second = migrate(&root, MOUNT, PATH, &entries, &MigrateOptions::default())
        .await
        .unwrap();
    assert_eq!(second.written_version, None);
    assert!(second.added.is_empty() && second.changed.is_empty());
    assert_eq!(
        root.kv_metadata(MOUNT, PATH)
            .await
            .unwrap()
            .unwrap()
            .current_version,
        1
    );

    // The app rotates a value; a key it added is kept by later migrations.
    root.kv_write(
        MOUNT,
        PATH,
        &json!({"APP_ONLY": "x", "FLASK_ENV": "production"}),
        Some(1),
    )
    .await
    .unwrap();
    let third = migrate(
        &root,
        MOUNT,
        PATH,
        &parse_dotenv("FLASK_ENV=staging\n").unwrap(),
        &MigrateOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(third.changed, ["FLASK_ENV"]);
    assert_eq!(third.kept, ["APP_ONLY"]);
    assert_eq!(third.written_version, Some(3));
    let stored = root.kv_read(MOUNT, PATH).await.unwrap().unwrap();
    assert_eq!(
        Value::Object(stored.data),
        json!({"APP_ONLY": "x", "FLASK_ENV": "staging"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_refused_unless_forced() {
    let (_c, root) = cluster().await;
    let entries = parse_dotenv("A=1\nB=2\n").unwrap();
    migrate(
        &root,
        MOUNT,
        PATH,
        &parse_dotenv("A=0\n").unwrap(),
        &MigrateOptions::default(),
    )
    .await
    .unwrap();

    // Read, then someone else writes, then our write: refused, nothing written.
    let stale = read_current_secret(&root, MOUNT, PATH).await.unwrap();
    assert_eq!(stale.version, 1);
    root.kv_write(MOUNT, PATH, &json!({"A": "0", "C": "theirs"}), Some(1))
        .await
        .unwrap();
    let e = apply_migration(&root, stale.clone(), &entries, &MigrateOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            MigrateError::Conflict {
                read_version: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("--force"), "{e}");
    assert_eq!(
        root.kv_metadata(MOUNT, PATH)
            .await
            .unwrap()
            .unwrap()
            .current_version,
        2
    );

    // Forced: merged onto the newest version, keeping the concurrent writer's key.
    let r = apply_migration(
        &root,
        stale,
        &entries,
        &MigrateOptions {
            dry_run: false,
            force: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (r.conflicts_overridden, r.read_version, r.written_version),
        (1, 2, Some(3))
    );
    let stored = root.kv_read(MOUNT, PATH).await.unwrap().unwrap();
    assert_eq!(
        Value::Object(stored.data),
        json!({"A": "1", "B": "2", "C": "theirs"})
    );

    // A deleted latest version is written over (from empty data), not refused.
    root.kv_delete(MOUNT, PATH).await.unwrap();
    let r = migrate(&root, MOUNT, PATH, &entries, &MigrateOptions::default())
        .await
        .unwrap();
    assert!(r.latest_was_deleted);
    assert_eq!((r.read_version, r.written_version), (3, Some(4)));
    assert_eq!(
        Value::Object(root.kv_read(MOUNT, PATH).await.unwrap().unwrap().data),
        json!({"A": "1", "B": "2"})
    );
}

#[test]
fn malformed_and_duplicate_lines_are_refused_with_line_numbers() {
    let bad = DOTENV.replace("EMPTY=\n", "EMPTY\n");
    let e = parse_dotenv(&bad).unwrap_err();
    assert_eq!(e.line(), 10, "{e}");
    assert!(
        e.to_string().starts_with("line 10: expected KEY=VALUE"),
        "{e}"
    );
    let dup = format!("{DOTENV}export FLASK_ENV=staging\n");
    let e = parse_dotenv(&dup).unwrap_err();
    assert_eq!(
        e,
        DotenvError::Duplicate {
            key: "FLASK_ENV".into(),
            first: 2,
            second: 14
        }
    );
}
