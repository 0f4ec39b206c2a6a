//! `edgecert_core::cancel` (the flag a signal sets, and the future that waits for it), with the
//! one thing it needs a timer for: sleeping until a deadline or the signal, whichever is first.

use std::future::Future;
use std::time::Duration;

pub use edgecert_core::cancel::{Cancel, Cancelled, Trigger, new};

/// `Cancel::sleep`: the ingestion test's waits (observation window, polls, graceful stop).
pub trait Sleep {
    /// Sleeps for `d`; `Err` if cancelled first.
    fn sleep(&self, d: Duration) -> impl Future<Output = Result<(), String>> + Send;
}

impl Sleep for Cancel {
    async fn sleep(&self, d: Duration) -> Result<(), String> {
        tokio::select! {
            () = tokio::time::sleep(d) => Ok(()),
            () = self.cancelled() => self.check(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_ends_early_when_cancelled() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (trigger, cancel) = new();
            assert!(cancel.sleep(Duration::from_millis(1)).await.is_ok());
            let waiter = cancel.clone();
            let t = tokio::spawn(async move { waiter.sleep(Duration::from_secs(60)).await });
            tokio::task::yield_now().await;
            trigger.fire("SIGINT");
            let r = t.await.unwrap();
            assert_eq!(
                r.unwrap_err(),
                "interrupted (SIGINT) before the run completed"
            );
        });
    }
}
