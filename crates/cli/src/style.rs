//! Terminal styling that switches itself off: colors only when the stream is a terminal and
//! `NO_COLOR` is unset (https://no-color.org), so piped output stays plain text.

use std::io::IsTerminal;

use owo_colors::OwoColorize;

#[derive(Debug, Clone, Copy)]
pub struct Painter {
    enabled: bool,
}

impl Painter {
    pub fn for_stdout() -> Self {
        let enabled = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Painter { enabled }
    }

    pub fn plain() -> Self {
        Painter { enabled: false }
    }

    pub fn red(&self, s: &str) -> String {
        if self.enabled {
            s.red().bold().to_string()
        } else {
            s.to_owned()
        }
    }
    pub fn green(&self, s: &str) -> String {
        if self.enabled {
            s.green().to_string()
        } else {
            s.to_owned()
        }
    }
    pub fn yellow(&self, s: &str) -> String {
        if self.enabled {
            s.yellow().to_string()
        } else {
            s.to_owned()
        }
    }
    pub fn blue(&self, s: &str) -> String {
        if self.enabled {
            s.blue().to_string()
        } else {
            s.to_owned()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        if self.enabled {
            s.bold().to_string()
        } else {
            s.to_owned()
        }
    }
    pub fn dim(&self, s: &str) -> String {
        if self.enabled {
            s.dimmed().to_string()
        } else {
            s.to_owned()
        }
    }
}
