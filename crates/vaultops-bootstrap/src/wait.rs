//! Polling with a deadline: the only way this workspace waits for a cluster to change state.
//!
//! [`until`] has its own deadline and reports what it waited for and the last thing it saw.

use std::future::Future;
use std::time::{Duration, Instant};

/// A wait that ran out of time.
#[derive(Debug, Clone, thiserror::Error)]
#[error("timed out after {:.1}s waiting for {what}; last seen: {last}", waited.as_secs_f64())]
pub struct WaitTimeout {
    pub what: String,
    pub waited: Duration,
    pub last: String,
}

/// Polls `probe` every `every` until it returns `Ok(Some(_))`, or fails after `deadline`
/// with the last observation (`Err(text)` from the probe is an observation, not a failure).
pub async fn until<T, F, Fut>(
    what: &str,
    deadline: Duration,
    every: Duration,
    mut probe: F,
) -> Result<T, WaitTimeout>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let start = Instant::now();
    let mut last = String::from("no answer yet");
    loop {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e,
        }
        if start.elapsed() >= deadline {
            return Err(WaitTimeout {
                what: what.to_owned(),
                waited: start.elapsed(),
                last,
            });
        }
        tokio::time::sleep(every.min(deadline.saturating_sub(start.elapsed()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_value_once_condition_holds() {
        let mut n = 0;
        let v = until(
            "n to reach 3",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                n += 1;
                let seen = n;
                async move { Ok(if seen >= 3 { Some(seen) } else { None }) }
            },
        )
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn times_out_with_last_observation() {
        let e = until::<(), _, _>(
            "never",
            Duration::from_millis(30),
            Duration::from_millis(5),
            || async { Err("still sealed".to_string()) },
        )
        .await
        .unwrap_err();
        assert_eq!(e.what, "never");
        assert_eq!(e.last, "still sealed");
        assert!(e
            .to_string()
            .contains("waiting for never; last seen: still sealed"));
    }
}
