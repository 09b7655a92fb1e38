//! `ews-photo discover`: the EWS URL of an address on stdout, how it was
//! found on stderr (every candidate with -v), or one JSON record.

use crate::app::{Console, config};
use crate::cli::{Connection, DiscoverArgs};
use crate::discover::Report;
use crate::error::Error;
use crate::validate_email;

/// Runs `discover`.
pub fn run(
    connection: &Connection,
    verbosity: u8,
    args: &DiscoverArgs,
    console: Console,
) -> Result<(), Error> {
    let email = validate_email(&args.email).map_err(Error::Usage)?;
    let credentials = config::credentials(connection, false)?;
    if connection.insecure {
        console.alarm(
            "--insecure: certificates are NOT verified; Autodiscover sends no credentials anywhere",
        );
    }
    let transport = config::transport_options(connection, verbosity);
    let settings = config::discover_settings(connection, credentials, transport)?;
    let lookup = settings.lookup(email, &mut |attempt| {
        config::tell_attempt(console, verbosity, attempt)
    })?;
    config::tell_lookup(console, &lookup);
    let line = if args.json {
        Some(serde_json::to_string(&Report::new(&lookup)).expect("a report always serialises"))
    } else {
        lookup
            .outcome
            .as_ref()
            .ok()
            .map(|f| f.ews_url.as_str().to_string())
    };
    if let Some(line) = line {
        crate::output::print_line(&line)?;
    }
    lookup.outcome.map(|_| ()).map_err(Error::from)
}
