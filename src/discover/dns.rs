//! The SRV lookup over the network: the one I/O part of this module.
//!
//! A query goes over UDP to each server in turn (a connected socket, so only
//! that server's datagrams are read; the id and the question must match),
//! and over TCP when the UDP answer is truncated. The servers come from
//! `--dns-servers ADDR[:PORT],…` or from `/etc/resolv.conf`.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::autodiscover::srv::{self, PacketError, Reply};

/// How long one server may take to answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the system's DNS servers are listed.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// glibc reads at most this many `nameserver` lines (`MAXNS`).
const MAX_SYSTEM_SERVERS: usize = 3;

/// A DNS failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// A `--dns-servers` entry that is not an address.
    #[error(
        "'{0}' is not a DNS server address: give ADDR or ADDR:PORT (IPv6 as [ADDR]:PORT), several separated by commas, e.g. --dns-servers 10.0.0.53,[2001:db8::53]:5353"
    )]
    BadServer(String),
    /// No server configured.
    #[error("no DNS server to ask: {0}; pass --dns-servers ADDR[:PORT]")]
    NoServers(String),
    /// The name cannot be queried.
    #[error(transparent)]
    Packet(#[from] PacketError),
    /// Every server failed (the name is the attempt's, so not repeated).
    #[error("{details}")]
    Failed {
        /// What each server did.
        details: String,
    },
}

/// The servers of `--dns-servers`: `ADDR[:PORT]`, comma-separated; IPv6 as
/// `[ADDR]:PORT` or a bare `ADDR` (port 53).
pub fn parse_servers(text: &str) -> Result<Vec<SocketAddr>, DnsError> {
    let mut servers = Vec::new();
    for entry in text.split(',').map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        let server = crate::transport::parse_addr(entry, 53)
            .ok_or_else(|| DnsError::BadServer(entry.to_string()))?;
        servers.push(server);
    }
    if servers.is_empty() {
        return Err(DnsError::BadServer(text.to_string()));
    }
    Ok(servers)
}

/// The `nameserver` lines of a resolv.conf, in order (at most three, as glibc
/// reads them). A scoped IPv6 address (`fe80::1%eth0`) is skipped: it needs an
/// interface index that the text does not give portably.
pub fn parse_resolv_conf(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .map(|line| line.split(['#', ';']).next().unwrap_or_default())
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
        })
        .filter_map(|addr| addr.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .take(MAX_SYSTEM_SERVERS)
        .collect()
}

/// The system's DNS servers, from [`RESOLV_CONF`]. Without `nameserver` lines
/// the resolver library asks the local host, and so does this.
pub fn system_servers() -> Result<Vec<SocketAddr>, DnsError> {
    match std::fs::read_to_string(RESOLV_CONF) {
        Ok(text) => {
            let servers = parse_resolv_conf(&text);
            if servers.is_empty() {
                Ok(vec![SocketAddr::from(([127, 0, 0, 1], 53))])
            } else {
                Ok(servers)
            }
        }
        Err(e) => Err(DnsError::NoServers(format!(
            "{RESOLV_CONF} cannot be read ({e})"
        ))),
    }
}

/// Looks up the SRV records of `name`, asking each server in turn until one
/// answers (NOERROR or NXDOMAIN); SERVFAIL, REFUSED, garbage and silence move
/// on to the next. Each server has `timeout` to answer. The reply is records
/// or "no such name", never [`Reply::Truncated`] (a truncated UDP answer is
/// asked again over TCP).
pub fn lookup_srv(
    name: &str,
    servers: &[SocketAddr],
    timeout: Duration,
) -> Result<Reply, DnsError> {
    if servers.is_empty() {
        return Err(DnsError::NoServers("the list of servers is empty".into()));
    }
    let mut failures = Vec::new();
    for &server in servers {
        let id = fastrand::u16(..);
        let packet = srv::query(id, name)?;
        match ask(server, id, name, &packet, timeout) {
            Ok(reply) => return Ok(reply),
            Err(why) => failures.push(format!("{server}: {why}")),
        }
    }
    Err(DnsError::Failed {
        details: failures.join("; "),
    })
}

fn ask(
    server: SocketAddr,
    id: u16,
    name: &str,
    packet: &[u8],
    timeout: Duration,
) -> Result<Reply, String> {
    let deadline = Instant::now() + timeout;
    match ask_udp(server, id, name, packet, deadline, timeout)? {
        Reply::Truncated => match ask_tcp(server, id, name, packet, deadline, timeout)? {
            Reply::Truncated => Err("a truncated answer over TCP".into()),
            reply => Ok(reply),
        },
        reply => Ok(reply),
    }
}

fn remaining(deadline: Instant, timeout: Duration) -> Result<Duration, String> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("no answer within {}", seconds(timeout)))
}

fn ask_udp(
    server: SocketAddr,
    id: u16,
    name: &str,
    packet: &[u8],
    deadline: Instant,
    timeout: Duration,
) -> Result<Reply, String> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io = |e: std::io::Error| describe_io(&e, timeout);
    let socket = UdpSocket::bind(local).map_err(io)?;
    socket.connect(server).map_err(io)?;
    socket.send(packet).map_err(io)?;
    let mut buffer = vec![0u8; 65_535];
    loop {
        socket
            .set_read_timeout(Some(remaining(deadline, timeout)?))
            .map_err(io)?;
        let received = socket.recv(&mut buffer).map_err(io)?;
        match srv::parse_reply(id, name, &buffer[..received]) {
            // A late answer to an earlier query, or a spoofing attempt: keep waiting.
            Err(PacketError::NotOurs) => continue,
            Err(e) => return Err(e.to_string()),
            Ok(reply) => return Ok(reply),
        }
    }
}

fn ask_tcp(
    server: SocketAddr,
    id: u16,
    name: &str,
    packet: &[u8],
    deadline: Instant,
    timeout: Duration,
) -> Result<Reply, String> {
    let io = |e: std::io::Error| format!("over TCP: {}", describe_io(&e, timeout));
    let mut stream =
        TcpStream::connect_timeout(&server, remaining(deadline, timeout)?).map_err(io)?;
    stream
        .set_write_timeout(Some(remaining(deadline, timeout)?))
        .map_err(io)?;
    let length = u16::try_from(packet.len()).map_err(|_| "a query too long for TCP".to_string())?;
    let mut framed = length.to_be_bytes().to_vec();
    framed.extend_from_slice(packet);
    stream.write_all(&framed).map_err(io)?;
    stream
        .set_read_timeout(Some(remaining(deadline, timeout)?))
        .map_err(io)?;
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).map_err(io)?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut answer).map_err(io)?;
    srv::parse_reply(id, name, &answer).map_err(|e| format!("over TCP: {e}"))
}

fn describe_io(error: &std::io::Error, timeout: Duration) -> String {
    match error.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            format!("no answer within {}", seconds(timeout))
        }
        ErrorKind::ConnectionRefused => "refused: no DNS server listens there".into(),
        ErrorKind::UnexpectedEof => "the connection closed before the answer was complete".into(),
        _ => error.to_string(),
    }
}

fn seconds(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_from_the_command_line() {
        let servers =
            parse_servers("127.0.0.1:5353, 10.0.0.53,[::1]:5353,2001:db8::1,[2001:db8::2]")
                .unwrap();
        let text: Vec<String> = servers.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            text,
            [
                "127.0.0.1:5353",
                "10.0.0.53:53",
                "[::1]:5353",
                "[2001:db8::1]:53",
                "[2001:db8::2]:53"
            ]
        );
        assert!(parse_servers("dns.google").is_err());
        assert_eq!(
            parse_servers("127.0.0.1").unwrap(),
            [SocketAddr::from(([127, 0, 0, 1], 53))]
        );
        for bad in [
            "",
            ",",
            "localhost",
            "127.0.0.1:0",
            "127.0.0.1:x",
            "[::1",
            "1.2.3.4:70000",
        ] {
            assert!(parse_servers(bad).is_err(), "{bad:?} was accepted");
        }
        let err = parse_servers("10.0.0.1,nope").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("'nope' is not a DNS server address"),
            "{err}"
        );
    }

    #[test]
    fn resolv_conf_variants() {
        let conf = "# generated\nsearch corp.contoso.com\nnameserver 10.0.0.53\nnameserver ::1 # local\noptions edns0\n";
        let servers: Vec<String> = parse_resolv_conf(conf)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(servers, ["10.0.0.53:53", "[::1]:53"]);
        assert!(parse_resolv_conf("").is_empty());
        assert!(parse_resolv_conf("#nameserver 1.1.1.1\n; nameserver 2.2.2.2").is_empty());
        let four = "nameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver fe80::1%eth0\nnameserver 3.3.3.3\nnameserver 4.4.4.4\n";
        let servers: Vec<String> = parse_resolv_conf(four)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(servers, ["1.1.1.1:53", "2.2.2.2:53", "3.3.3.3:53"]);
        assert!(parse_resolv_conf("nameserver\nnameserver  \tbogus").is_empty());
        assert_eq!(parse_resolv_conf("  nameserver\t9.9.9.9  ").len(), 1);
    }

    #[test]
    fn a_silent_server_times_out_and_the_next_one_is_asked() {
        // Bound but never read: the query is swallowed.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let refused = {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap()
        };
        let err = lookup_srv(
            "_autodiscover._tcp.contoso.com",
            &[silent.local_addr().unwrap(), refused],
            Duration::from_millis(200),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("127.0.0.1:"), "{text}");
        assert!(text.contains("no answer within 200 ms"), "{text}");
        assert!(
            text.contains("; 127.0.0.1:"),
            "both servers are reported: {text}"
        );
    }

    #[test]
    fn no_servers() {
        assert!(matches!(
            lookup_srv("x", &[], DEFAULT_TIMEOUT),
            Err(DnsError::NoServers(_))
        ));
    }
}
