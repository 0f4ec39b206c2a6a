//! Stopping a run early (Ctrl-C, SIGTERM) without leaving anything behind: a signal only sets
//! a flag. The static pass looks at it between reads of every layer (a cancelled read fails,
//! the layer ends, `certify` returns `CertifyError::Interrupted` and drops its temporary
//! directory); the ingestion test's waits (observation window, graceful stop) select on it and
//! then clean up what they created in the engine.
//!
//! This module holds no signal handler: a library must not take SIGINT away from a long-lived
//! host process. The CLI installs one (`edgecert_runtime::catch_signals`) that fires the
//! `Trigger` of the `Cancel` it hands to `certify`.

use std::time::Duration;

use tokio::sync::watch;

/// Shared cancellation: `None` until a signal (its name) arrives. `Default` never fires.
#[derive(Debug, Clone)]
pub struct Cancel {
    rx: watch::Receiver<Option<&'static str>>,
}

#[derive(Debug)]
pub struct Trigger {
    tx: watch::Sender<Option<&'static str>>,
}

pub fn new() -> (Trigger, Cancel) {
    let (tx, rx) = watch::channel(None);
    (Trigger { tx }, Cancel { rx })
}

impl Default for Cancel {
    fn default() -> Self {
        new().1
    }
}

impl Trigger {
    pub fn fire(&self, why: &'static str) {
        self.tx.send_replace(Some(why));
    }
}

impl Cancel {
    /// The signal's name once cancelled (`SIGINT`, `SIGTERM`).
    pub fn reason(&self) -> Option<&'static str> {
        *self.rx.borrow()
    }

    /// The error a run ends with once cancelled.
    pub fn check(&self) -> Result<(), String> {
        match self.reason() {
            Some(why) => Err(format!("interrupted ({why}) before the run completed")),
            None => Ok(()),
        }
    }

    /// `check` as an I/O error, for readers that stop a stream when cancelled. Not
    /// `ErrorKind::Interrupted`: `io::copy` and `read_to_end` retry those forever.
    pub fn check_io(&self) -> std::io::Result<()> {
        self.check().map_err(std::io::Error::other)
    }

    /// Resolves when cancelled (never, if the trigger is gone without firing).
    pub async fn cancelled(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Sleeps for `d`; `Err` if cancelled first.
    pub async fn sleep(&self, d: Duration) -> Result<(), String> {
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
            trigger.fire("SIGINT");
            let r = t.await.unwrap();
            assert_eq!(
                r.unwrap_err(),
                "interrupted (SIGINT) before the run completed"
            );
            assert_eq!(cancel.reason(), Some("SIGINT"));
            let e = cancel.check_io().unwrap_err();
            assert_ne!(
                e.kind(),
                std::io::ErrorKind::Interrupted,
                "io::copy would retry it"
            );
        });
        assert_eq!(Cancel::default().reason(), None);
    }
}
