//! NTLMv2 (MS-NLMP) for HTTP `NTLM` and `Negotiate`, client side only.
//!
//! Only NTLMv2 is ever computed. A challenge that would force NTLMv1 or LM
//! (no extended session security, no target information) is refused before
//! anything is sent. Like Windows, the AUTHENTICATE message carries the
//! server's MsvAvTimestamp, MsvAvFlags = 0x2 with a MIC, MsvAvTargetName
//! `HTTP/<host>` and MsvAvChannelBindings (the RFC 5929 `tls-server-end-point`
//! binding of the TLS connection, or zeros over plain http).
//!
//! The message functions are pure (all randomness and time are inputs), so the
//! MS-NLMP §4.2.4 vectors pin them; [`Ntlm`] is the connection-bound
//! [`Authenticator`] built on top.

mod message;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;

use message::{
    AuthenticateOptions, CLIENT_VERSION, Nonces, authenticate_message, negotiate_message,
};
pub use message::{ChallengeMessage, NtlmUser};

use super::{AuthError, Authenticator, Challenge, Step};
use crate::Secret;
use crate::auth::channel_binding::{self, Channel};

/// Settings of one NTLM authenticator.
#[derive(Clone, Debug)]
pub struct NtlmSettings {
    /// `NTLM` or `Negotiate`: the HTTP scheme the tokens travel in.
    pub scheme: &'static str,
    /// The server (its host also names MsvAvTargetName `HTTP/<host>`) and
    /// the connection's certificate for the binding.
    pub channel: Channel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No handshake yet on this client.
    Fresh,
    /// Type 1 sent; waiting for the type-2 challenge.
    Negotiating,
    /// Type 3 sent; a 401 now means rejection.
    Authenticating,
    /// The connection is authenticated: requests go without a header.
    Authenticated,
    /// The server refused the credentials: they are never sent again (each
    /// try counts towards the account's lockout threshold).
    Rejected,
}

/// The connection-bound NTLMv2 authenticator.
pub struct Ntlm {
    user: NtlmUser,
    settings: NtlmSettings,
    state: State,
    negotiate: Vec<u8>,
    /// Handshakes started by this client; a second one after a success is
    /// allowed once per request (the connection was lost or expired).
    restarted: bool,
}

impl Ntlm {
    /// An authenticator for `user`.
    pub fn new(user: NtlmUser, settings: NtlmSettings) -> Ntlm {
        Ntlm {
            user,
            settings,
            state: State::Fresh,
            negotiate: negotiate_message(),
            restarted: false,
        }
    }

    fn header(&self, token: &[u8]) -> Secret {
        Secret::new(format!(
            "{} {}",
            self.settings.scheme,
            BASE64_STANDARD.encode(token)
        ))
    }

    fn start(&mut self) -> Step {
        self.state = State::Negotiating;
        Step::Header(self.header(&self.negotiate))
    }

    fn answer(&mut self, challenge: &Challenge) -> Result<Step, AuthError> {
        let scheme = self.settings.scheme;
        let Some(token) = challenge.token.as_deref() else {
            return Err(AuthError::Protocol(
                "the server answered the NTLM negotiate message with a new 401 instead of a challenge: the connection was not kept between the legs (a proxy or load balancer that does not keep client connections apart breaks NTLM; connect to Exchange directly, e.g. with NO_PROXY)".into(),
            ));
        };
        let not_ntlm = |what: String| {
            AuthError::Protocol(format!(
                "the server's {scheme} challenge is {what}; NTLM cannot continue a Kerberos/SPNEGO exchange: get a Kerberos ticket (kinit) and use --auth kerberos, or ask for NTLM to be enabled on the EWS virtual directory, or use Basic over https or OAuth"
            ))
        };
        let bytes = BASE64_STANDARD
            .decode(token.trim())
            .map_err(|_| not_ntlm("not base64".into()))?;
        let challenge = ChallengeMessage::parse(&bytes)
            .map_err(|why| not_ntlm(format!("not an NTLM CHALLENGE message ({why})")))?;
        if let Some(why) = challenge.v1_only() {
            return Err(AuthError::Protocol(why));
        }
        let channel_bindings = match self.settings.channel.certificate() {
            Ok(Some(certificate)) => Some(channel_binding::ntlm_hash(&certificate)),
            // Over plain http there is no channel: all zeros, as Windows sends.
            Ok(None) => Some([0; 16]),
            Err(why) => return Err(AuthError::Protocol(why)),
        };
        let options = AuthenticateOptions {
            channel_bindings,
            target_name: Some(format!("HTTP/{}", self.settings.channel.host)),
            workstation: String::new(),
            version: CLIENT_VERSION,
        };
        let auth = authenticate_message(
            &self.negotiate,
            &challenge,
            &self.user,
            &Nonces::random().map_err(AuthError::Protocol)?,
            &options,
        )
        .map_err(AuthError::Protocol)?;
        self.state = State::Authenticating;
        Ok(Step::Header(self.header(&auth)))
    }
}

impl Authenticator for Ntlm {
    fn scheme(&self) -> &'static str {
        self.settings.scheme
    }

    fn authorization(&mut self, challenge: Option<&Challenge>) -> Result<Step, AuthError> {
        match (self.state, challenge) {
            (State::Fresh, _) => {
                self.restarted = false;
                Ok(self.start())
            }
            (State::Negotiating, Some(challenge)) => self.answer(challenge),
            // A new request while a handshake was pending: start over.
            (State::Negotiating, None) => Ok(self.start()),
            (State::Authenticating, Some(_)) => {
                self.state = State::Rejected;
                Ok(Step::Failed)
            }
            (State::Rejected, _) => Err(AuthError::Protocol(
                "the server already rejected these NTLM credentials; ews-photo does not try them again (every try counts towards the account lockout threshold)".into(),
            )),
            // The type 3 was answered with something other than 401: the
            // connection is authenticated and IIS keeps it so.
            (State::Authenticating | State::Authenticated, None) => {
                self.state = State::Authenticated;
                self.restarted = false;
                Ok(Step::NoHeader)
            }
            // The authenticated connection was lost or expired: once more.
            (State::Authenticated, Some(_)) if !self.restarted => {
                self.restarted = true;
                Ok(self.start())
            }
            (State::Authenticated, Some(_)) => {
                self.state = State::Rejected;
                Ok(Step::Failed)
            }
        }
    }

    fn rejection_hint(&self, _challenge: Option<&Challenge>) -> String {
        // Over https every type 3 carries the channel binding.
        if self.settings.channel.https {
            "the server rejected the NTLM authentication after the complete handshake: wrong password, locked or expired account, a user name in the wrong form (try DOMAIN\\user or user@domain, or --domain), or Extended Protection refusing the channel binding (a TLS-inspecting proxy or load balancer between ews-photo and Exchange changes the certificate the binding is computed from)".into()
        } else {
            "the server rejected the NTLM authentication after the complete handshake: wrong password, locked or expired account, or a user name in the wrong form (try DOMAIN\\user or user@domain, or --domain)".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use message::tests::{SPEC_CHALLENGE, hex, spec_user};
    #[test]
    fn handshake_states() {
        let settings = NtlmSettings {
            scheme: "NTLM",
            channel: Channel {
                host: "mail.contoso.com".into(),
                https: false,
                peer_certificate: Default::default(),
            },
        };
        let mut auth = Ntlm::new(spec_user(), settings);
        let Step::Header(first) = auth.authorization(None).unwrap() else {
            panic!("type 1 first")
        };
        assert!(first.expose().starts_with("NTLM TlRMTVNTUAAB"));
        let type2 = Challenge {
            scheme: "NTLM".into(),
            token: Some(BASE64_STANDARD.encode(hex(SPEC_CHALLENGE))),
            params: vec![],
        };
        assert!(
            matches!(auth.authorization(Some(&type2)).unwrap(), Step::Header(h) if h.expose().starts_with("NTLM TlRMTVNTUAAD"))
        );
        // Next request: the connection is authenticated.
        assert!(matches!(auth.authorization(None).unwrap(), Step::NoHeader));
        assert!(matches!(auth.authorization(None).unwrap(), Step::NoHeader));
        // A later 401: one new handshake.
        let bare = Challenge {
            scheme: "NTLM".into(),
            token: None,
            params: vec![],
        };
        assert!(matches!(
            auth.authorization(Some(&bare)).unwrap(),
            Step::Header(_)
        ));
        assert!(matches!(
            auth.authorization(Some(&type2)).unwrap(),
            Step::Header(_)
        ));
        // Rejected after the type 3, and never tried again.
        assert!(matches!(
            auth.authorization(Some(&bare)).unwrap(),
            Step::Failed
        ));
        assert!(matches!(
            auth.authorization(None),
            Err(AuthError::Protocol(m)) if m.contains("already rejected")
        ));
    }
}
