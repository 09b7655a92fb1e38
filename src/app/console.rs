//! How messages for people are printed on stderr.

use std::io::{IsTerminal, Write};

/// Messages on stderr: `-q` keeps only errors; colour only on a terminal and
/// never with `NO_COLOR`.
#[derive(Clone, Copy, Debug)]
pub struct Console {
    /// `-q`: errors only.
    pub quiet: bool,
    /// Colour allowed (stderr is a terminal and NO_COLOR is unset).
    pub color: bool,
}

impl Console {
    /// From `-q` and the environment.
    pub fn new(quiet: bool) -> Console {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Console {
            quiet,
            color: !no_color && std::io::stderr().is_terminal(),
        }
    }

    /// A progress or result message (suppressed by `-q`).
    pub fn info(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{message}");
        }
    }

    /// A warning (suppressed by `-q`).
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            let label = self.paint("warning:", "33");
            let _ = writeln!(std::io::stderr(), "ews-photo: {label} {message}");
        }
    }

    /// An error (always shown).
    pub fn error(&self, message: &str) {
        let label = self.paint("error:", "31");
        let _ = writeln!(std::io::stderr(), "ews-photo: {label} {message}");
    }

    /// A message that is shown even with `-q`, because the user must act on
    /// it (the device code of a sign-in).
    pub fn always(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "{message}");
    }

    /// A warning that is shown even with `-q`, because it is about safety.
    pub fn alarm(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "ews-photo: WARNING: {message}");
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
