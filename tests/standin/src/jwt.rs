//! Bearer tokens as a resource server sees them: RS256 JWTs checked against
//! the issuer's published keys ([`TokenCheck`]), and signed by the Entra
//! stand-in ([`Signer`]).
//!
//! Exchange checks a token's signature, issuer, audience and expiry itself;
//! so does [`TokenCheck`], which is what makes the EWS stand-in accept only
//! current tokens. Its 401 answers are shaped like Exchange Online's: a
//! `Bearer` challenge with `error="invalid_token"` and an `x-ms-diagnostics`
//! header saying why.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Value, json};

use crate::http::{Reply, Request};
use crate::lock;

/// The challenge Exchange Online sends, before the `error` parameter.
const CHALLENGE: &str = "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\"";

/// An RSA public key of the issuer, by its `kid`.
#[derive(Clone, Debug)]
pub struct PublicKey {
    kid: Option<String>,
    n: Vec<u8>,
    e: Vec<u8>,
}

/// Checks bearer tokens: RS256 signature by one of the issuer's keys, `iss`,
/// `aud`, `exp` and `nbf`. Optionally refuses a token after it was accepted a
/// number of times, as a server does with a token revoked mid-run.
#[derive(Debug)]
pub struct TokenCheck {
    keys: Vec<PublicKey>,
    issuer: String,
    audience: String,
    refuse_after: Option<u64>,
    uses: Mutex<HashMap<String, u64>>,
}

/// What a token says about its holder, once checked.
#[derive(Clone, Debug)]
pub struct Identity {
    /// An app's own token (client credentials), not a user's.
    pub app_only: bool,
    /// Shaped like Entra's app tokens (`idtyp` `app`), which carry the app's
    /// permissions as `roles`.
    pub entra_app: bool,
    /// The user of a delegated token (`upn`, `preferred_username`, or a `sub`
    /// that is an address).
    pub user: Option<String>,
    /// The application permissions (`roles`) of an app's token.
    pub roles: Vec<String>,
}

impl TokenCheck {
    /// A check against a JWK Set (`{"keys":[{"kty":"RSA","kid":…,"n":…,"e":…}]}`).
    pub fn from_jwks(jwks: &[u8], issuer: &str, audience: &str) -> Result<TokenCheck, String> {
        let set: Value = serde_json::from_slice(jwks).map_err(|e| format!("JWKS: {e}"))?;
        let mut keys = Vec::new();
        for key in set["keys"].as_array().ok_or("JWKS without keys")? {
            if key["kty"] != "RSA" {
                continue;
            }
            let part = |name: &str| {
                key[name]
                    .as_str()
                    .and_then(|v| B64URL.decode(v).ok())
                    .ok_or(format!("JWK without {name}"))
            };
            keys.push(PublicKey {
                kid: key["kid"].as_str().map(str::to_string),
                n: part("n")?,
                e: part("e")?,
            });
        }
        if keys.is_empty() {
            return Err("JWKS without an RSA key".into());
        }
        Ok(TokenCheck {
            keys,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            refuse_after: None,
            uses: Mutex::new(HashMap::new()),
        })
    }

    /// Refuses each token with `invalid_token` once it was accepted `uses`
    /// times (0: every token is refused).
    pub fn refuse_after(mut self, uses: u64) -> TokenCheck {
        self.refuse_after = Some(uses);
        self
    }

    /// `None` when the request carries a current token for this audience,
    /// else the 401 to send.
    pub fn check(&self, request: &Request) -> Option<Reply> {
        let Some(token) = bearer(request) else {
            return Some(Reply::new(401).header("WWW-Authenticate", CHALLENGE));
        };
        match self.verify(token) {
            Err((code, reason)) => Some(refusal(code, reason)),
            Ok(_) => {
                let mut uses = lock(&self.uses);
                let count = uses.entry(token.to_string()).or_insert(0);
                if self.refuse_after.is_some_and(|limit| *count >= limit) {
                    return Some(refusal(2000008, "The token has been revoked."));
                }
                *count += 1;
                None
            }
        }
    }

    /// Who the request's (already checked) token is for.
    pub fn identity(&self, request: &Request) -> Option<Identity> {
        let claims = self.verify(bearer(request)?).ok()?;
        let text = |name: &str| claims[name].as_str().map(str::to_string);
        let client = text("client_id")
            .or_else(|| text("appid"))
            .or_else(|| text("azp"));
        let app_only = claims["idtyp"] == "app"
            || claims.get("roles").is_some()
            || (claims.get("scp").is_none() && text("sub").is_some() && text("sub") == client);
        let user = text("upn")
            .or_else(|| text("preferred_username"))
            .or_else(|| text("sub").filter(|s| s.contains('@')));
        let roles = claims["roles"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Some(Identity {
            app_only,
            entra_app: claims["idtyp"] == "app",
            user: if app_only { None } else { user },
            roles,
        })
    }

    fn verify(&self, token: &str) -> Result<Value, (u32, &'static str)> {
        const MALFORMED: (u32, &str) = (2000001, "The token is malformed.");
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, signature] = parts.as_slice() else {
            return Err(MALFORMED);
        };
        let decode = |part: &str| -> Result<Value, (u32, &'static str)> {
            let bytes = B64URL.decode(part).map_err(|_| MALFORMED)?;
            serde_json::from_slice(&bytes).map_err(|_| MALFORMED)
        };
        let header = decode(header)?;
        if header["alg"] != "RS256" {
            return Err((2000001, "The token is not signed with RS256."));
        }
        let signature = B64URL.decode(signature).map_err(|_| MALFORMED)?;
        let signed = format!("{}.{}", parts[0], parts[1]);
        let good = self
            .keys
            .iter()
            .filter(|k| {
                header["kid"].as_str().is_none() || k.kid.as_deref() == header["kid"].as_str()
            })
            .any(|k| {
                RsaPublicKeyComponents { n: &k.n, e: &k.e }
                    .verify(
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        signed.as_bytes(),
                        &signature,
                    )
                    .is_ok()
            });
        if !good {
            return Err((2000001, "The token's signature is not valid."));
        }
        let claims = decode(claims)?;
        if claims["iss"] != self.issuer.as_str() {
            return Err((2000001, "The token's issuer is not trusted."));
        }
        if claims["aud"] != self.audience.as_str() {
            return Err((
                2000003,
                "The hostname component of the audience claim value is invalid.",
            ));
        }
        let now = now();
        if claims["exp"].as_u64().is_none_or(|exp| exp <= now) {
            return Err((2000008, "The token has expired."));
        }
        if claims["nbf"].as_u64().is_some_and(|nbf| nbf > now) {
            return Err((2000008, "The token is not yet valid."));
        }
        Ok(claims)
    }
}

fn bearer(request: &Request) -> Option<&str> {
    let value = request.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn refusal(code: u32, reason: &str) -> Reply {
    Reply::new(401)
        .header(
            "WWW-Authenticate",
            format!("{CHALLENGE}, error=\"invalid_token\""),
        )
        .header(
            "x-ms-diagnostics",
            format!("{code};reason=\"{reason}\";error_category=\"invalid_token\""),
        )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs RS256 JWTs with a fixed test key, and publishes it as a JWK Set.
pub struct Signer {
    key: RsaKeyPair,
    kid: &'static str,
}

impl Signer {
    /// The Entra stand-in's key (a test fixture, PKCS#1 PEM).
    pub fn test_key() -> Signer {
        let pem = include_str!("../../oauth/fixtures/other-key.pkcs1.pem");
        let base64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(base64)
            .expect("the fixture is PEM");
        Signer {
            key: RsaKeyPair::from_der(&der).expect("the fixture is an RSA key"),
            kid: "entra-standin-key",
        }
    }

    /// The public key as a JWK Set.
    pub fn jwks(&self) -> Vec<u8> {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(self.key.public());
        json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": B64URL.encode(&public.n), "e": B64URL.encode(&public.e)}]})
        .to_string()
        .into_bytes()
    }

    /// A signed JWT with these claims.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing");
        format!("{input}.{}", B64URL.encode(signature))
    }
}

/// Seconds since the epoch, for claims.
pub fn epoch_seconds() -> u64 {
    now()
}
