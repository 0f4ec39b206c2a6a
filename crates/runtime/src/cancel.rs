//! Stopping a run early (Ctrl-C, SIGTERM) without leaving anything in the engine: the signal
//! only sets a flag that the waits of a platform run (observation window, graceful stop)
//! select on; engine calls already under way finish, so cleanup sees every container and image
//! that exists, then removes them.
//!
//! The handler is opt-in (`MobyIngest::handle_signals`): a library must not take SIGINT away
//! from a long-lived host process. Once installed, tokio keeps it for the life of the process.

use std::time::Duration;

use tokio::sync::watch;

/// Shared cancellation: `None` until a signal (its name) arrives.
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

impl Trigger {
    pub fn fire(&self, why: &'static str) {
        self.tx.send_replace(Some(why));
    }
}

impl Cancel {
    pub fn reason(&self) -> Option<&'static str> {
        *self.rx.borrow()
    }

    /// The error a platform run ends with once cancelled.
    pub fn check(&self) -> Result<(), String> {
        match self.reason() {
            Some(why) => Err(format!("interrupted ({why}) before the run completed")),
            None => Ok(()),
        }
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

/// Fires `trigger` on SIGINT or SIGTERM. Must run inside the tokio runtime.
pub fn on_signals(trigger: Trigger) -> Result<(), std::io::Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        let why = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        trigger.fire(why);
        // Keep the streams (and so the handlers) alive; later signals are absorbed while the
        // cleanup finishes.
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
    });
    Ok(())
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
        });
    }
}
