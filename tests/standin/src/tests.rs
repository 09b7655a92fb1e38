//! The EWS stand-in end to end, through a raw HTTP/1.1 client: what tests,
//! benchmark and demo rely on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::ews::EWS_PATH;
use crate::soap::{MSG_NS, SOAP_NS, TYPES_NS, element_text};
use crate::{Auth, Options, StandIn, etag_for};

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(server: &StandIn) -> Client {
        let stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut req = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.reader.get_mut().write_all(&bytes).unwrap();

        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_string(), v.trim().to_string()));
        }
        let mut resp = Response {
            status,
            headers,
            body: Vec::new(),
        };
        let len: usize = resp.header("content-length").unwrap().parse().unwrap();
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        resp.body = body;
        resp
    }

    fn soap(&mut self, email: &str, size: &str, headers: &[(&str, &str)]) -> Response {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\" \
xmlns:t=\"{TYPES_NS}\" xmlns:m=\"{MSG_NS}\"><soap:Header><t:RequestServerVersion Version=\"Exchange2013\"/>\
</soap:Header><soap:Body><m:GetUserPhoto><m:Email>{email}</m:Email><m:SizeRequested>{size}</m:SizeRequested>\
</m:GetUserPhoto></soap:Body></soap:Envelope>"
        );
        let mut all = vec![("Content-Type", "text/xml; charset=utf-8")];
        all.extend_from_slice(headers);
        self.send("POST", EWS_PATH, &all, body.as_bytes())
    }
}

fn picture_data(xml: &str) -> Vec<u8> {
    let text = element_text(xml, "PictureData").unwrap();
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(clean).unwrap()
}

#[test]
fn soap_success_is_a_decodable_jpeg() {
    let server = StandIn::start(Options::default()).unwrap();
    let mut c = Client::connect(&server);
    let r = c.soap("alice@contoso.com", "HR240x240", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/xml; charset=utf-8"));
    assert_eq!(
        r.header("etag"),
        Some(etag_for("Alice@Contoso.com", "HR240x240", 0).as_str())
    );
    assert!(r.header("expires").unwrap().ends_with(" GMT"));
    let xml = r.text();
    assert!(xml.contains("<ResponseCode>NoError</ResponseCode>"));
    assert!(xml.contains("<ContentType>image/jpeg</ContentType>"));
    let bytes = picture_data(&xml);
    assert_eq!(bytes, server.photo_bytes("HR240x240", 0));
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (240, 240));
    assert_eq!(server.requests_for("ALICE@contoso.com"), 1);

    let r = c.send(
        "GET",
        "/EWS/Exchange.asmx/s/GetUserPhoto?email=alice%40contoso.com&size=HR1024xN",
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/jpeg"));
    let img = image::load_from_memory(&r.body).unwrap();
    assert_eq!((img.width(), img.height()), (1024, 768));
}

#[test]
fn if_none_match_gives_unchanged_and_304() {
    let server = StandIn::start(Options::default()).unwrap();
    let mut c = Client::connect(&server);
    let etag = etag_for("bob@contoso.com", "HR96x96", 0);
    let r = c.soap("bob@contoso.com", "HR96x96", &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 200);
    assert!(
        r.text()
            .contains("<HasChanged>false</HasChanged><PictureData/>")
    );
    assert!(!r.text().contains("ContentType"));
    assert_eq!(r.header("etag"), Some(etag.as_str()));

    let rest = "/EWS/Exchange.asmx/s/GetUserPhoto?email=bob@contoso.com&size=HR96x96";
    let bare = etag.trim_matches('"');
    let r = c.send("GET", rest, &[("If-None-Match", bare)], b"");
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());

    server.set_photo_version("BOB@contoso.com", 1);
    let r = c.send("GET", rest, &[("If-None-Match", &etag)], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, server.photo_bytes("HR96x96", 1));
    assert_ne!(r.body, server.photo_bytes("HR96x96", 0));
    assert_eq!(
        r.header("etag"),
        Some(etag_for("bob@contoso.com", "HR96x96", 1).as_str())
    );
}

#[test]
fn busyfault_then_success() {
    let server = StandIn::start(Options {
        backoff_ms: 25,
        ..Options::default()
    })
    .unwrap();
    let mut c = Client::connect(&server);
    let r = c.soap("busyfault-1@contoso.com", "HR48x48", &[]);
    assert_eq!(r.status, 500);
    let xml = r.text();
    assert!(xml.contains("a:ErrorServerBusy</faultcode>"));
    assert!(xml.contains("<t:Value Name=\"BackOffMilliseconds\">25</t:Value>"));
    let r = c.soap("BusyFault-1@contoso.com", "HR48x48", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(picture_data(&r.text()), server.photo_bytes("HR48x48", 0));
}

#[test]
fn keep_alive_reuses_one_connection() {
    let server = StandIn::start(Options::default()).unwrap();
    let mut c = Client::connect(&server);
    assert_eq!(c.soap("a@x.org", "HR64x64", &[]).status, 200);
    assert_eq!(c.soap("nophoto@x.org", "HR64x64", &[]).status, 404);
    assert_eq!(server.connections(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.connection == 1));
    assert_eq!(requests[1].email.as_deref(), Some("nophoto@x.org"));
}

#[test]
fn basic_auth_401_then_200() {
    let server = StandIn::start(Options {
        auth: Auth::Basic {
            user: "u".into(),
            password: "p".into(),
        },
        ..Options::default()
    })
    .unwrap();
    let mut c = Client::connect(&server);
    let r = c.soap("a@x.org", "HR48x48", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"standin\"")
    );
    assert!(r.body.is_empty());
    let auth = format!("Basic {}", B64.encode("u:p"));
    let r = c.soap("a@x.org", "HR48x48", &[("Authorization", &auth)]);
    assert_eq!(r.status, 200);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        server.requests()[1].header("Authorization"),
        Some(auth.as_str())
    );
}

#[test]
fn validation_and_query_decoding() {
    let server = StandIn::start(Options::default()).unwrap();
    let mut c = Client::connect(&server);
    let r = c.soap("a@x.org", "HR96X96", &[]);
    assert_eq!(r.status, 500);
    assert!(r.text().contains("a:ErrorSchemaValidation"));
    let r = c.soap("nobody", "HR96x96", &[]);
    assert!(r.text().contains("a:ErrorInvalidSmtpAddress"));
    let r = c.send(
        "GET",
        "/EWS/Exchange.asmx/s/GetUserPhoto?email=a%2Bb+c@x.org&size=HR1x1",
        &[],
        b"",
    );
    assert_eq!(r.status, 400);
    assert_eq!(server.requests()[2].email.as_deref(), Some("a+b+c@x.org"));
    assert_eq!(c.send("GET", "/nope", &[], b"").status, 404);
}

#[test]
fn bearer_and_challenge_auth() {
    let server = StandIn::start(Options {
        auth: Auth::Bearer {
            token: "t0k".into(),
        },
        ..Options::default()
    })
    .unwrap();
    let mut c = Client::connect(&server);
    let r = c.soap("a@x.org", "HR48x48", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"standin\"")
    );
    let r = c.soap("a@x.org", "HR48x48", &[("Authorization", "Bearer nope")]);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let r = c.soap("a@x.org", "HR48x48", &[("Authorization", "Bearer t0k")]);
    assert_eq!(r.status, 200);
    drop(server);

    let server = StandIn::start(Options {
        auth: Auth::Challenge(vec!["Negotiate".into(), "NTLM".into()]),
        ..Options::default()
    })
    .unwrap();
    let mut c = Client::connect(&server);
    let r = c.soap("a@x.org", "HR48x48", &[]);
    assert_eq!(r.status, 401);
    let challenges: Vec<_> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .collect();
    assert_eq!(challenges.len(), 2);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(!r.body.is_empty());
    // The connection survives the 401.
    assert_eq!(c.soap("a@x.org", "HR48x48", &[]).status, 401);
    assert_eq!(server.connections(), 1);
}

#[test]
fn drop_stops_the_server() {
    let server = StandIn::start(Options::default()).unwrap();
    let addr = server.addr();
    let mut idle = Client::connect(&server);
    assert_eq!(idle.soap("a@x.org", "HR48x48", &[]).status, 200);
    drop(server);
    let mut buf = [0u8; 1];
    assert_eq!(idle.reader.read(&mut buf).unwrap_or(0), 0);
    assert!(TcpStream::connect(addr).is_err());
}
