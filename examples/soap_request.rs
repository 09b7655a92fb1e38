//! Prints the exact SOAP envelope `ews-photo` sends for GetUserPhoto.
//!
//! ```text
//! cargo run --example soap_request -- [EMAIL] [SIZE] [VERSION] [IMPERSONATE]
//! ```
//!
//! Defaults: `user1@contoso.com HR240x240 Exchange2013`, no impersonation.
//! SIZE is parsed like the tool's `--size` (`240`, `hr240x240`, …), VERSION
//! like `--server-version`, IMPERSONATE (an SMTP address) like
//! `--impersonate`. CI validates the output against Microsoft's EWS schema.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use ews_photo::PhotoSize;
use ews_photo::backend::ews::soap;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let email = args.next().unwrap_or_else(|| "user1@contoso.com".into());
    let size = args.next().unwrap_or_else(|| "HR240x240".into());
    let version = args
        .next()
        .unwrap_or_else(|| soap::DEFAULT_SERVER_VERSION.into());
    let impersonate = args.next();
    if args.next().is_some() {
        eprintln!("usage: soap_request [EMAIL] [SIZE] [VERSION] [IMPERSONATE]");
        return ExitCode::from(2);
    }
    let size: PhotoSize = match size.parse() {
        Ok(size) => size,
        Err(e) => {
            eprintln!("soap_request: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = soap::check_server_version(&version) {
        eprintln!("soap_request: {e}");
        return ExitCode::from(2);
    }
    // The exact bytes sent on the wire; a final newline only for a terminal.
    let body = soap::request_as(&email, size, &version, impersonate.as_deref());
    let mut out = std::io::stdout().lock();
    let newline: &[u8] = if out.is_terminal() { b"\n" } else { b"" };
    match out
        .write_all(body.as_bytes())
        .and_then(|()| out.write_all(newline))
        .and_then(|()| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soap_request: cannot write to stdout: {e}");
            ExitCode::FAILURE
        }
    }
}
