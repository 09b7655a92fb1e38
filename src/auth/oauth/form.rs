//! Token-request bodies (`application/x-www-form-urlencoded`), with the fields
//! in the order MSAL Python 1.39.0 sends them (captured on the wire), so that
//! Entra sees what it sees from Microsoft's own library.
//!
//! Every value is held as a [`Secret`]: a body carries a client secret, a
//! signed assertion, a device code or a refresh token, and its `Debug` shows
//! only the field names.

use std::fmt;

use crate::Secret;

/// `client_assertion_type` for a signed JWT (RFC 7523).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `grant_type` of the device-code flow (RFC 8628).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How a confidential client proves who it is.
#[derive(Clone, Copy, Debug)]
pub enum ClientAuth<'a> {
    /// The client secret's value (not its ID).
    Secret(&'a Secret),
    /// A signed client assertion ([`super::client_assertion`]); build a new one
    /// for every request, since its `jti` may be used once.
    Assertion(&'a Secret),
}

/// A request body: named fields, in order. `Debug` shows the names only.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenForm {
    fields: Vec<(&'static str, Secret)>,
}

impl TokenForm {
    fn new() -> TokenForm {
        TokenForm { fields: Vec::new() }
    }

    fn add(mut self, name: &'static str, value: impl Into<String>) -> TokenForm {
        self.fields.push((name, Secret::new(value)));
        self
    }

    /// The field names, in the order sent.
    pub fn names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|(name, _)| *name).collect()
    }

    /// The value of a field.
    pub fn value(&self, name: &str) -> Option<&Secret> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The values a server must never echo back into a message: secret,
    /// assertion, device code, refresh token.
    pub fn sensitive_values(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(|(name, _)| {
                matches!(
                    *name,
                    "client_secret" | "client_assertion" | "code" | "device_code" | "refresh_token"
                )
            })
            .map(|(_, value)| value.expose())
            .filter(|value| !value.is_empty())
    }

    /// The body, URL-encoded.
    ///
    /// ```
    /// use ews_photo::auth::oauth::form;
    /// let body = form::device_code("app", "https://x/EWS.AccessAsUser.All offline_access");
    /// assert_eq!(body.encode().expose(), "client_id=app&scope=https%3A%2F%2Fx%2FEWS.AccessAsUser.All+offline_access");
    /// ```
    pub fn encode(&self) -> Secret {
        let mut out = String::new();
        for (i, (name, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            encode_into(&mut out, name);
            out.push('=');
            encode_into(&mut out, value.expose());
        }
        Secret::new(out)
    }
}

impl fmt::Debug for TokenForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenForm")
            .field("fields", &self.names())
            .finish()
    }
}

/// The WHATWG `application/x-www-form-urlencoded` byte serializer.
fn encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
}

/// Client credentials (an app signing in by itself), with a secret or an
/// assertion. `scope` is `{resource}/.default`.
///
/// Fields, as MSAL sends them: secret `client_id, grant_type, client_info,
/// client_secret, scope`; assertion `client_id, grant_type, client_assertion,
/// client_info, client_assertion_type, scope`.
pub fn client_credentials(client_id: &str, auth: ClientAuth<'_>, scope: &str) -> TokenForm {
    let form = TokenForm::new()
        .add("client_id", client_id)
        .add("grant_type", "client_credentials");
    let form = match auth {
        ClientAuth::Secret(secret) => form
            .add("client_info", "1")
            .add("client_secret", secret.expose()),
        ClientAuth::Assertion(assertion) => form
            .add("client_assertion", assertion.expose())
            .add("client_info", "1")
            .add("client_assertion_type", JWT_BEARER_ASSERTION),
    };
    form.add("scope", scope)
}

/// The device authorization request: `client_id, scope`.
pub fn device_code(client_id: &str, scope: &str) -> TokenForm {
    TokenForm::new()
        .add("client_id", client_id)
        .add("scope", scope)
}

/// One poll of the token endpoint in the device-code flow: `client_id,
/// grant_type, client_info, code, device_code`. MSAL sends the device code
/// twice, as `code` and as `device_code` (an old Entra requirement it keeps).
pub fn device_code_poll(client_id: &str, device_code: &Secret) -> TokenForm {
    TokenForm::new()
        .add("client_id", client_id)
        .add("grant_type", DEVICE_CODE_GRANT)
        .add("client_info", "1")
        .add("code", device_code.expose())
        .add("device_code", device_code.expose())
}

/// A refresh-token grant: `client_id, grant_type, client_info, refresh_token,
/// scope`. Public clients (device-code sign-in) send no credential.
pub fn refresh(client_id: &str, refresh_token: &Secret, scope: &str) -> TokenForm {
    TokenForm::new()
        .add("client_id", client_id)
        .add("grant_type", "refresh_token")
        .add("client_info", "1")
        .add("refresh_token", refresh_token.expose())
        .add("scope", scope)
}

/// The headers MSAL sends with every token request that matter to Entra:
/// JSON answers, and that the client honours `Retry-After` on 429.
pub const HEADERS: [(&str, &str); 3] = [
    ("Accept", "application/json"),
    ("Content-Type", "application/x-www-form-urlencoded"),
    ("x-ms-lib-capability", "retry-after, h429"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

    #[test]
    fn fields_in_msal_order() {
        let secret = Secret::new("s3cret");
        let form = client_credentials(
            CLIENT,
            ClientAuth::Secret(&secret),
            "https://graph.microsoft.com/.default",
        );
        assert_eq!(
            form.names(),
            [
                "client_id",
                "grant_type",
                "client_info",
                "client_secret",
                "scope"
            ]
        );
        assert_eq!(
            form.encode().expose(),
            "client_id=11111111-2222-3333-4444-555555555555&grant_type=client_credentials&client_info=1&client_secret=s3cret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        );

        let jwt = Secret::new("aaa.bbb.ccc");
        let form = client_credentials(
            CLIENT,
            ClientAuth::Assertion(&jwt),
            "https://outlook.office365.com/.default",
        );
        assert_eq!(
            form.names(),
            [
                "client_id",
                "grant_type",
                "client_assertion",
                "client_info",
                "client_assertion_type",
                "scope"
            ]
        );
        assert_eq!(
            form.value("client_assertion_type").unwrap().expose(),
            JWT_BEARER_ASSERTION
        );

        let code = Secret::new("DC-xyz");
        let form = device_code_poll("14d82eec-204b-4c2f-b7e8-296a70dab67e", &code);
        assert_eq!(
            form.names(),
            [
                "client_id",
                "grant_type",
                "client_info",
                "code",
                "device_code"
            ]
        );
        assert_eq!(form.value("code"), form.value("device_code"));
        assert_eq!(
            refresh(CLIENT, &Secret::new("rt"), "s").names(),
            [
                "client_id",
                "grant_type",
                "client_info",
                "refresh_token",
                "scope"
            ]
        );
    }

    #[test]
    fn values_are_url_encoded() {
        let secret = Secret::new("a+b&c=d ~é");
        let form = client_credentials(CLIENT, ClientAuth::Secret(&secret), "s");
        assert!(
            form.encode()
                .expose()
                .contains("client_secret=a%2Bb%26c%3Dd+%7E%C3%A9&"),
            "{}",
            form.encode().expose()
        );
    }

    #[test]
    fn debug_shows_no_value_and_sensitive_values_are_listed() {
        let secret = Secret::new("s3cret-value");
        let form = client_credentials(CLIENT, ClientAuth::Secret(&secret), "scope-x");
        let shown = format!("{form:?}");
        assert!(!shown.contains("s3cret-value"), "{shown}");
        assert!(shown.contains("client_secret"), "{shown}");
        assert_eq!(
            form.sensitive_values().collect::<Vec<_>>(),
            ["s3cret-value"]
        );
        let code = Secret::new("DC-1");
        assert_eq!(
            device_code_poll(CLIENT, &code)
                .sensitive_values()
                .collect::<Vec<_>>(),
            ["DC-1", "DC-1"]
        );
    }
}
