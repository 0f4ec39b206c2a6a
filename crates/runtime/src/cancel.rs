//! Catching SIGINT and SIGTERM for a whole `edgecert check` (the `Cancel` itself lives in the
//! engine, `edgecert_engine::cancel`, so the static pass and the ingestion test stop on the
//! same flag). After the first signal later ones are absorbed: the run is cleaning up, and a
//! second Ctrl-C must not leave containers behind.
//!
//! Opt-in: a library must not take SIGINT away from a long-lived host process. Once installed,
//! the handler stays for the life of the process.

pub use edgecert_engine::cancel::{Cancel, Sleep, Trigger, new};

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Fires `trigger` on SIGINT or SIGTERM, from a thread of its own; the handlers are installed
/// before this returns, so a signal right after it is not lost.
pub fn catch_signals(trigger: Trigger) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (int, term) = rt.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("edgecert-signals".into())
        .spawn(move || rt.block_on(listen(int, term, trigger)))?;
    Ok(())
}

/// Fires `trigger` on SIGINT or SIGTERM. Must run inside a tokio runtime.
pub fn on_signals(trigger: Trigger) -> Result<(), std::io::Error> {
    let int = signal(SignalKind::interrupt())?;
    let term = signal(SignalKind::terminate())?;
    tokio::spawn(listen(int, term, trigger));
    Ok(())
}

async fn listen(mut int: Signal, mut term: Signal, trigger: Trigger) {
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
}
