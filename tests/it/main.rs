//! The end-to-end tests, in one binary (`cargo test --test integration`) so
//! that a change to the library relinks one test binary, not one per module.
//! Run one part with a filter, e.g. `cargo test --test integration export::`.
//!
//! The tests run the built `ews-photo` as a user would, against the stand-in server
//! (`tests/standin`) on 127.0.0.1, or against pyspnego for NTLM and dnsmasq
//! for DNS SRV.

/// The stand-in, the tool with a clean environment, a scratch folder, terse
/// assertions.
mod common;
/// The only place besides `properties/fuzz_checks.rs` that names the
/// library's API: the rest of the tests use the binary.
mod library;

/// `ews-photo discover` and `get`/`export` without `--url`: Autodiscover
/// against its stand-in over TLS and dnsmasq for SRV; the cache; `--resolve`.
mod autodiscover;
/// `ews-photo export`: lists, reports, templates, `--sync`, pauses, Ctrl-C.
mod export;
/// The committed completions and man page match the binary.
mod generated;
/// `ews-photo get`: every answer shape, authentication, output, exit codes.
mod get;
/// `--backend graph` against the Graph stand-in: sizes, addresses, every
/// answer shape, `$batch`, `--sync`, secrets at `-vv`.
mod graph;
/// Every `sh` recipe of docs/guide.md runs.
mod guide;
/// A hostile server (TLS included): a clear error, no panic, no file.
mod hostile;
/// Kerberos against a real MIT KDC and python-gssapi's acceptor (tests/kerberos/).
mod kerberos;
/// The import graph of src/: no cycle, the library never imports the command line.
mod layers;
/// Where a photo cannot be written: the reason, exit 1, no partial file.
mod local_failures;
/// NTLM against pyspnego's acceptor (tests/it/ntlm_server.py).
mod ntlm;
/// OAuth sign-in against oidc-provider (tests/oauth) and the Entra stand-in:
/// secret, certificate, device code, cache, renewal, impersonation, secrets.
mod oauth;
/// The fuzz properties, briefly, with proptest.
mod properties;
/// Credentials never go over plain http unless allowed, however it is spelled.
mod security;
/// Colour, prompts and stdout manners on and off a terminal.
mod terminal;
