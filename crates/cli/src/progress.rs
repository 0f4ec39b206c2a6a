//! Progress bars on stderr for the layer reads, only when stderr is a terminal.

use std::io::IsTerminal;

use edgecert_engine::Digest;
use edgecert_engine::image::layer::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bars {
    bar: ProgressBar,
}

impl Bars {
    /// `None` when stderr is not a terminal: machines get no escape codes.
    pub fn new() -> Option<Self> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} reading layers {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .expect("a literal template parses"),
        );
        Some(Bars { bar })
    }
}

impl Progress for Bars {
    fn layer_started(&self, _digest: &Digest, size: u64) {
        self.bar.inc_length(size);
    }
    fn advanced(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn layer_finished(&self, digest: &Digest) {
        self.bar.set_message(format!("done {}", digest.short()));
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
