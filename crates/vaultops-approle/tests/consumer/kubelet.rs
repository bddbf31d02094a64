//! The kubelet's refresh of a Secret mounted as a volume, emulated: a thread polls the
//! Secret manifest every 500 ms and, when its pair changed, writes both keys into a new
//! timestamped directory and swaps the `..data` symlink to it atomically; the key files are
//! symlinks through `..data` (what a pod sees under its mountPath).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vaultops_approle::{CredentialPair, Sink};

pub struct Kubelet {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    dir: PathBuf,
}

fn project(dir: &Path, pair: &CredentialPair, generation: u64) {
    let data = dir.join(format!("..{generation}"));
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("vault-role-id"), &pair.role_id).unwrap();
    std::fs::write(data.join("vault-secret-id"), pair.secret_id.expose()).unwrap();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&data, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
}

fn projected(dir: &Path) -> Option<(String, String)> {
    let r = std::fs::read_to_string(dir.join("vault-role-id")).ok()?;
    let s = std::fs::read_to_string(dir.join("vault-secret-id")).ok()?;
    Some((r, s))
}

impl Kubelet {
    /// Projects the manifest's pair into `dir` now, then keeps it in sync.
    pub fn start(secret: Sink, dir: PathBuf) -> Self {
        std::fs::create_dir(&dir).unwrap();
        let first = secret.read_pair().unwrap().pair;
        project(&dir, &first, 0);
        for key in ["vault-role-id", "vault-secret-id"] {
            std::os::unix::fs::symlink(Path::new("..data").join(key), dir.join(key)).unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (s, d) = (stop.clone(), dir.clone());
        let thread = std::thread::spawn(move || {
            let mut current = first;
            let mut generation = 0;
            while !s.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(500));
                // A manifest being replaced reads as the old or the new file (rename).
                let Ok(stored) = secret.read_pair() else {
                    continue;
                };
                if stored.pair != current {
                    generation += 1;
                    project(&d, &stored.pair, generation);
                    current = stored.pair;
                }
            }
        });
        Self { stop, thread, dir }
    }

    /// Waits until the projected files hold the manifest's pair.
    pub fn wait_synced(&self, secret: &Sink, deadline: Duration) {
        let end = Instant::now() + deadline;
        let want = secret.read_pair().unwrap().pair;
        loop {
            if projected(&self.dir)
                .is_some_and(|(r, s)| r == want.role_id && s == want.secret_id.expose())
            {
                return;
            }
            assert!(Instant::now() < end, "the mounted files never caught up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
    }
}
