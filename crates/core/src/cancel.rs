//! Stopping a run early (Ctrl-C, SIGTERM) without leaving anything behind: a signal only sets
//! a flag. The static pass looks at it between reads of every layer (a cancelled read fails,
//! the layer ends, `certify` returns `CertifyError::Interrupted` and drops its temporary
//! directory); the ingestion test's waits (observation window, graceful stop) await
//! `cancelled()` and then clean up what they created in the engine.
//!
//! This module holds no signal handler: a library must not take SIGINT away from a long-lived
//! host process. The CLI installs one (`edgecert_runtime::catch_signals`) that fires the
//! `Trigger` of the `Cancel` it hands to `certify`. It needs no async runtime either:
//! `cancelled()` is a plain future woken by `Trigger::fire` (the timed wait, `sleep`, is
//! `edgecert_engine::cancel::Sleep`, on tokio's timer).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// The signal's name once fired, and the waiting `Cancelled` futures' wakers (by future).
type State = (Option<&'static str>, Vec<(u64, Waker)>);

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Numbers the `Cancelled` futures, so each removes its own waker when dropped.
    next: AtomicU64,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A waiter that panicked while holding the lock leaves a consistent state (a name and
        // a list of wakers), so carry on with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Shared cancellation: `None` until a signal (its name) arrives. `Default` never fires.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub struct Trigger {
    shared: Arc<Shared>,
}

pub fn new() -> (Trigger, Cancel) {
    let shared = Arc::new(Shared::default());
    (
        Trigger {
            shared: shared.clone(),
        },
        Cancel { shared },
    )
}

impl Trigger {
    /// Cancels (the first signal's name is kept) and wakes every waiting `cancelled()`.
    pub fn fire(&self, why: &'static str) {
        let wakers = {
            let mut state = self.shared.lock();
            state.0.get_or_insert(why);
            std::mem::take(&mut state.1)
        };
        for (_, w) in wakers {
            w.wake();
        }
    }
}

impl Cancel {
    /// The signal's name once cancelled (`SIGINT`, `SIGTERM`).
    pub fn reason(&self) -> Option<&'static str> {
        self.shared.lock().0
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
    pub fn cancelled(&self) -> Cancelled {
        Cancelled {
            id: self.shared.next.fetch_add(1, Ordering::Relaxed),
            shared: self.shared.clone(),
        }
    }
}

/// The future of `Cancel::cancelled`. Dropped before the signal (the other branch of a
/// `select!` won), it takes its waker back: a long-lived process that waits many times on one
/// `Cancel` keeps no task alive through it.
#[derive(Debug)]
pub struct Cancelled {
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        self.shared.lock().1.retain(|(id, _)| *id != self.id);
    }
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock();
        if state.0.is_some() {
            return Poll::Ready(());
        }
        // One entry per future: a re-poll replaces its waker (the task may have moved).
        let waker = cx.waker();
        match state.1.iter_mut().find(|(id, _)| *id == self.id) {
            Some((_, w)) => w.clone_from(waker),
            None => state.1.push((self.id, waker.clone())),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn cancelled_is_woken_by_the_trigger_once_and_stays_ready() {
        let (trigger, cancel) = new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = Box::pin(cancel.cancelled());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(cancel.shared.lock().1.len(), 1, "one waker per future");
        // A future dropped before the signal takes its waker back.
        let mut other = Box::pin(cancel.cancelled());
        assert!(other.as_mut().poll(&mut cx).is_pending());
        assert_eq!(cancel.shared.lock().1.len(), 2);
        drop(other);
        assert_eq!(
            cancel.shared.lock().1.len(),
            1,
            "the dropped future's waker is gone"
        );
        trigger.fire("SIGINT");
        trigger.fire("SIGTERM");
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(fut.as_mut().poll(&mut cx).is_ready());
        assert!(
            Box::pin(cancel.cancelled())
                .as_mut()
                .poll(&mut cx)
                .is_ready()
        );
        assert_eq!(cancel.reason(), Some("SIGINT"), "the first signal is kept");
        assert_eq!(
            cancel.check().unwrap_err(),
            "interrupted (SIGINT) before the run completed"
        );
        let e = cancel.check_io().unwrap_err();
        assert_ne!(
            e.kind(),
            std::io::ErrorKind::Interrupted,
            "io::copy would retry it"
        );
        assert_eq!(Cancel::default().reason(), None);
    }
}
