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
        Client::connect_to(server.addr())
    }

    fn connect_to(addr: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
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

mod graph {
    use super::*;
    use crate::{GraphOptions, GraphStandIn};

    fn json(r: &Response) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
    }

    fn batch(c: &mut Client, parts: &[(String, String)]) -> Response {
        let requests: Vec<serde_json::Value> = parts
            .iter()
            .map(|(id, url)| serde_json::json!({"id": id, "method": "GET", "url": url}))
            .collect();
        let body = serde_json::json!({ "requests": requests }).to_string();
        c.send(
            "POST",
            "/v1.0/$batch",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", "Bearer t"),
            ],
            body.as_bytes(),
        )
    }

    fn server(latency_ms: u64) -> GraphStandIn {
        GraphStandIn::start(GraphOptions {
            token: Some("t".into()),
            item_latency: Duration::from_millis(latency_ms),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn a_token_is_required_and_refused_as_graph_does() {
        let graph = server(0);
        let mut c = Client::connect_to(graph.addr());
        let r = c.send("GET", "/v1.0/users/a@b.c/photo/$value", &[], b"");
        assert_eq!(r.status, 401);
        assert!(
            r.header("www-authenticate")
                .unwrap()
                .contains("00000003-0000-0000-c000-000000000000")
        );
        assert_eq!(json(&r)["error"]["code"], "InvalidAuthenticationToken");
        let r = c.send(
            "GET",
            "/v1.0/users/a@b.c/photo/$value",
            &[("Authorization", "Bearer t"), ("client-request-id", "c-1")],
            b"",
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.header("client-request-id"), Some("c-1"));
        assert_eq!(r.header("request-id").map(str::len), Some(36));
        assert_eq!(r.header("etag"), Some(graph.media_etag("a@b.c").as_str()));
    }

    #[test]
    fn batches_hold_at_most_20_unique_ids_and_run_4_parts_at_a_time() {
        let graph = server(5);
        let mut c = Client::connect_to(graph.addr());
        let parts = |n: usize| -> Vec<(String, String)> {
            (0..n)
                .map(|i| {
                    (
                        i.to_string(),
                        format!("/users/u{i}@contoso.com/photos/48x48/$value"),
                    )
                })
                .collect()
        };
        let r = batch(&mut c, &parts(21));
        assert_eq!(r.status, 400);
        assert!(r.text().contains("exceeds the limit of 20"));
        let mut twice = parts(2);
        twice[1].0 = "0".into();
        assert_eq!(batch(&mut c, &twice).status, 400);
        let r = batch(&mut c, &parts(20));
        assert_eq!(r.status, 200);
        let responses = json(&r)["responses"].as_array().unwrap().clone();
        assert_eq!(responses.len(), 20);
        let ids: Vec<&str> = responses
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        let in_order: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        assert_ne!(ids, in_order, "answered in another order than asked");
        for part in &responses {
            let bytes = B64.decode(part["body"].as_str().unwrap()).unwrap();
            assert_eq!(bytes, graph.photo_bytes(Some("48x48"), 0));
        }
    }

    #[test]
    fn user_names_starting_with_a_dollar_need_the_parenthesis_form() {
        let graph = server(0);
        let mut c = Client::connect_to(graph.addr());
        let auth = [("Authorization", "Bearer t")];
        assert_eq!(
            c.send("GET", "/v1.0/users/$x@contoso.com/photo/$value", &auth, b"")
                .status,
            400
        );
        assert_eq!(
            c.send(
                "GET",
                "/v1.0/users('$x@contoso.com')/photo/$value",
                &auth,
                b""
            )
            .status,
            200
        );
        let r = c.send(
            "GET",
            "/v1.0/users('$o%27%27k@contoso.com')/photo",
            &auth,
            b"",
        );
        assert_eq!(r.status, 200);
        assert_eq!(graph.ops().pop().unwrap().user, "$o'k@contoso.com");
    }

    #[test]
    fn a_proxy_address_look_up_needs_the_advanced_query_parameters() {
        let graph = server(0);
        let mut c = Client::connect_to(graph.addr());
        let filter =
            "/v1.0/users?$filter=proxyAddresses/any(p:p%20eq%20%27smtp:alias-bob@contoso.com%27)";
        let auth = ("Authorization", "Bearer t");
        let r = c.send("GET", filter, &[auth], b"");
        assert_eq!(r.status, 400);
        assert_eq!(json(&r)["error"]["code"], "Request_UnsupportedQuery");
        let r = c.send(
            "GET",
            &format!("{filter}&$count=true"),
            &[auth, ("ConsistencyLevel", "eventual")],
            b"",
        );
        assert_eq!(r.status, 200);
        let found = json(&r);
        assert_eq!(found["@odata.count"], 1);
        assert_eq!(found["value"][0]["userPrincipalName"], "bob@contoso.com");
        let id = found["value"][0]["id"].as_str().unwrap().to_string();
        let r = c.send(
            "GET",
            &format!("/v1.0/users/{id}/photos/96x96"),
            &[auth],
            b"",
        );
        assert_eq!(
            json(&r)["@odata.mediaEtag"],
            graph.media_etag("bob@contoso.com")
        );
    }
}
