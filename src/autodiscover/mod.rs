//! Autodiscover: from a mail address to its EWS URL, as pure protocol code
//! (no I/O): the network side is [`crate::discover`].
//!
//! - [`candidates`](mod@candidates): the endpoints to try for an address, in the standard order
//!   (Autodiscover v2, POX on the domain and on `autodiscover.{domain}`, the
//!   plain-http redirect, the DNS SRV record);
//! - [`pox`] and [`v2`]: the request and the answers of the two protocols;
//! - [`redirect`]: which redirects may be followed, and how many;
//! - [`srv`]: the SRV query and answer packets, and RFC 2782's order;
//! - [`driver`]: the whole discovery as a state machine that says which request
//!   to make and takes the answer back, so the I/O around it only executes.
//!
//! See [`Discovery`] for an example.

/// An answer from `tests/fixtures/autodiscover/`, for the unit tests of
/// the modules below.
#[cfg(test)]
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/autodiscover/",
            $name
        ))
        .as_slice()
    };
}

pub mod candidates;
pub mod driver;
pub mod pox;
pub mod redirect;
pub mod srv;
pub mod v2;

pub use candidates::{Candidate, Source, candidates, domain_of, srv_name, v2_url};
pub use driver::{
    Attempt, AttemptResult, CredentialPolicy, Discovery, Found, HttpAnswer, Options, Request,
    SrvAnswer, Step,
};

/// Why Autodiscover found no EWS URL. Each kind has its exit code
/// ([`crate::Error::exit`]): 2 a bad address, 6 nothing reachable, 4 only
/// authentication stood in the way, 1 the rest.
///
/// Messages say what happened and what to do next; they hold URLs, addresses
/// and server messages, never a credential.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The address has no usable domain.
    #[error(
        "cannot run Autodiscover for '{address}': {reason}; give the mailbox's SMTP address, e.g. jdoe@contoso.com"
    )]
    BadAddress {
        /// The text given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No candidate could be reached: DNS, connections, TLS.
    #[error(
        "Autodiscover reached no server for {address} ({details}); check the domain, the network, the proxy and the DNS servers, or pass the EWS URL with --url"
    )]
    NothingReachable {
        /// The address asked for.
        address: String,
        /// What happened to the candidates.
        details: String,
    },
    /// Servers answered, but none gave an EWS URL.
    #[error(
        "Autodiscover found no EWS URL for {address} ({details}); if the address is right, ask the Exchange administrators for the EWS URL and pass it with --url"
    )]
    NoEwsUrl {
        /// The address asked for.
        address: String,
        /// The most telling answers.
        details: String,
    },
    /// Only authentication stood in the way: the Autodiscover servers that
    /// answered asked for credentials, or rejected them.
    #[error(
        "Autodiscover for {address} needs authentication ({details}); check --user and the password, or pass the EWS URL with --url"
    )]
    Authentication {
        /// The address asked for.
        address: String,
        /// Which servers asked, and what became of the credentials.
        details: String,
    },
    /// Redirects went in circles.
    #[error(
        "Autodiscover for {address} ran into a redirect loop ({details}); the servers' redirects point back at each other: tell the Exchange administrators, or pass the EWS URL with --url"
    )]
    RedirectLoop {
        /// The loop.
        address: String,
        /// The URLs of the loop.
        details: String,
    },
    /// More redirects than [`redirect::MAX_HOPS`].
    #[error(
        "Autodiscover for {address} was redirected more than {limit} times ({chain}); pass the EWS URL with --url"
    )]
    TooManyRedirects {
        /// The address asked for.
        address: String,
        /// The limit.
        limit: usize,
        /// The redirects followed.
        chain: String,
    },
    /// `redirectAddr` answers led back to an address already tried.
    #[error(
        "Autodiscover for {address} was sent from address to address in a loop ({chain}); the mailboxes' target addresses point at each other: tell the Exchange administrators, or pass the EWS URL with --url"
    )]
    AddressLoop {
        /// The address asked for.
        address: String,
        /// The addresses in the order they came.
        chain: String,
    },
    /// The EWS URL came only through an unauthenticated referral (the
    /// plain-http redirect or a DNS SRV record) and its host is outside the
    /// address's domain, so the credentials are not sent there unasked.
    #[error(
        "Autodiscover for {address} found {ews_url} only through {via}, which anyone on the network path can forge, and it is outside {domain}: credentials are not sent there on that word alone; if it is the right server, pass it with --url {ews_url}"
    )]
    UnconfirmedUrl {
        /// The address asked for.
        address: String,
        /// The address's domain.
        domain: String,
        /// The EWS URL found.
        ews_url: String,
        /// "the plain-http redirect" or "a DNS SRV record".
        via: String,
    },
}
