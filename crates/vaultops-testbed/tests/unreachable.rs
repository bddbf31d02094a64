//! Without a reachable Docker engine every entry point fails with a message that says so and
//! what to do. Its own test binary, because it points DOCKER_HOST at nothing for the process.

use vaultops_testbed::{Silent, Testbed, TestbedError, TestbedName, UpOptions};

#[tokio::test]
async fn unreachable_docker_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let sock = tmp.path().join("no-docker.sock");
    // Rust 2021: set_var is safe; this binary has no other test that reads the environment.
    std::env::set_var("DOCKER_HOST", format!("unix://{}", sock.display()));

    // Attaching connects first, like every entry point.
    let name = TestbedName::new("unreachable").unwrap();
    let e = Testbed::attach(&name, tmp.path()).await.unwrap_err();
    assert!(matches!(e, TestbedError::DockerUnreachable { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("cannot reach the Docker engine"), "{msg}");
    assert!(msg.contains("DOCKER_HOST"), "{msg}");

    let opts = UpOptions::new(name.clone(), tmp.path().to_owned());
    let e = Testbed::up(&opts, &mut Silent).await.unwrap_err();
    assert!(matches!(e, TestbedError::DockerUnreachable { .. }), "{e:?}");
    let e = vaultops_testbed::down(&name, tmp.path()).await.unwrap_err();
    assert!(matches!(e, TestbedError::DockerUnreachable { .. }), "{e:?}");
}
