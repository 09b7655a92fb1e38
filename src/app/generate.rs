//! `ews-photo completions` and `ews-photo man`: generated from the clap
//! definitions, and committed under `completions/` and `docs/` (a test keeps
//! them fresh).

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

/// The completion script for a shell.
pub fn completion(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ews-photo", &mut out);
    out
}

/// The man page, in roff: the tool, then a section per subcommand with its
/// synopsis, options and examples.
pub fn man_page() -> Vec<u8> {
    let command = Cli::command();
    let mut out = Vec::new();
    let render = |man: clap_mangen::Man, out: &mut Vec<u8>, whole: bool| {
        let result = if whole {
            man.render(out)
        } else {
            let mut part = Vec::new();
            man.render_synopsis_section(&mut part)
                .and_then(|()| man.render_description_section(&mut part))
                .and_then(|()| man.render_options_section(&mut part))
                .and_then(|()| man.render_extra_section(&mut part))
                .map(|()| {
                    // Subsections under the command's own heading.
                    let text = String::from_utf8_lossy(&part)
                        .replace(".SH SYNOPSIS", ".SS Synopsis")
                        .replace(".SH DESCRIPTION", ".SS Description")
                        .replace(".SH OPTIONS", ".SS Options")
                        .replace(".SH EXTRA", ".SS More");
                    out.extend_from_slice(text.as_bytes());
                })
        };
        result.expect("rendering to memory cannot fail");
    };
    render(clap_mangen::Man::new(command.clone()), &mut out, true);
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("ews-photo {}", sub.get_name());
        out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        let sub = sub.clone().bin_name(name);
        render(clap_mangen::Man::new(sub), &mut out, false);
    }
    out
}

/// Writes a generated file to stdout; a closed pipe (`| head`) is not an error
/// worth reporting.
pub fn print(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}
