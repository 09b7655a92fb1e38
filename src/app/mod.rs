//! The commands: the parsed command line turned into library calls, and
//! everything for people — messages, progress, Ctrl-C.

mod config;
mod console;
mod discover;
mod export;
mod generate;
mod get;

use std::process::ExitCode;

use clap::Parser;

pub use console::Console;

use crate::cli::{Cli, Command};
use crate::error::{Error, Exit};

/// Parses the command line, runs it, and returns the exit code.
pub fn run_cli() -> ExitCode {
    let cli = Cli::parse();
    let console = Console::new(cli.quiet);
    interrupt::install();
    let code = match run(cli, console) {
        Ok(()) => Exit::Ok,
        Err(Error::Output(err)) if err.is_broken_pipe() => Exit::Ok,
        Err(err) => {
            console.error(&err.to_string());
            err.exit()
        }
    };
    ExitCode::from(code.code())
}

fn run(cli: Cli, console: Console) -> Result<(), Error> {
    match cli.command {
        Command::Get(args) => get::run(&cli.connection, cli.verbose, &args, console),
        Command::Export(args) => export::run(&cli.connection, cli.verbose, &args, console),
        Command::Discover(args) => discover::run(&cli.connection, cli.verbose, &args, console),
        Command::Completions { shell } => {
            generate::print(&generate::completion(shell));
            Ok(())
        }
        Command::Man => {
            generate::print(&generate::man_page());
            Ok(())
        }
    }
}

/// Ctrl-C: a running export stops taking addresses, flushes its report and
/// manifest and leaves with 130. Otherwise (or on a second Ctrl-C) any file
/// still being written is removed, and the process leaves with 130 at once.
mod interrupt {
    use std::sync::Mutex;

    use crate::error::Exit;
    use crate::export::Stop;

    static ACTIVE: Mutex<Option<Stop>> = Mutex::new(None);

    /// The export that a Ctrl-C should stop, while there is one.
    pub fn set_active(stop: Option<Stop>) {
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = stop;
    }

    pub fn install() {
        let _ = ctrlc::set_handler(|| {
            let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if active.is_some_and(|stop| stop.request()) {
                return;
            }
            crate::output::remove_temporary_files();
            std::process::exit(i32::from(Exit::Interrupted.code()));
        });
    }
}
