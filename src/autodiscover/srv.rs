//! The DNS SRV step: the query packet, the answer parser, and the order of the
//! targets (RFC 2782). Pure; [`crate::discover`] sends the packets.
//!
//! RFC 2782: "A client MUST attempt to contact the target host with the
//! lowest-numbered priority it can reach"; within one priority, targets are
//! tried in a weighted random order, a larger weight being proportionately
//! likelier to come first. (exchangelib picks the *highest* priority number,
//! which is backwards.) Only targets on port 443 are used, as the EWS Managed
//! API does: the POX request goes to `https://{target}/autodiscover/autodiscover.xml`.

use serde::Serialize;
use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question, RCODE, TYPE};

/// One SRV record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Within a priority, the relative chance of coming first.
    pub weight: u16,
    /// The port of the target.
    pub port: u16,
    /// The host, lower-cased, without the trailing dot; `.` for "no service".
    pub target: String,
}

/// What a DNS server answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// NOERROR: the SRV records (possibly none).
    Records(Vec<SrvRecord>),
    /// NXDOMAIN: the name does not exist.
    NoSuchName,
    /// The answer did not fit into UDP; ask again over TCP.
    Truncated,
}

/// An answer that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// The name cannot be put into a query.
    #[error("'{0}' cannot be looked up: it is not a DNS name")]
    BadName(String),
    /// Not a DNS message, or cut short.
    #[error("not a DNS answer ({0})")]
    Malformed(String),
    /// An answer to another question (a stray or spoofed packet).
    #[error("an answer to another query")]
    NotOurs,
    /// SERVFAIL, REFUSED and the like.
    #[error("the DNS server answered {0}")]
    Server(String),
}

/// Builds a recursive SRV query for `name` with the id `id`.
///
/// ```
/// let packet = ews_photo::autodiscover::srv::query(0x1234, "_autodiscover._tcp.contoso.com").unwrap();
/// assert_eq!(&packet[..4], &[0x12, 0x34, 0x01, 0x00]); // id, RD
/// ```
pub fn query(id: u16, name: &str) -> Result<Vec<u8>, PacketError> {
    let qname = Name::new(name).map_err(|_| PacketError::BadName(name.to_string()))?;
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    packet.questions.push(Question::new(
        qname,
        QTYPE::TYPE(TYPE::SRV),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    packet
        .build_bytes_vec()
        .map_err(|e| PacketError::BadName(format!("{name}: {e}")))
}

/// Parses the answer to [`query`]: checks that it answers our id and question,
/// and collects the SRV records for the name (following a CNAME in the answer).
pub fn parse_reply(id: u16, name: &str, bytes: &[u8]) -> Result<Reply, PacketError> {
    let packet = Packet::parse(bytes).map_err(|e| PacketError::Malformed(e.to_string()))?;
    if packet.id() != id || !packet.has_flags(PacketFlag::RESPONSE) {
        return Err(PacketError::NotOurs);
    }
    let asked = normalise(name);
    let same_question = packet.questions.len() == 1
        && normalise(&packet.questions[0].qname.to_string()) == asked
        && packet.questions[0].qtype == QTYPE::TYPE(TYPE::SRV);
    if !same_question {
        return Err(PacketError::NotOurs);
    }
    if packet.has_flags(PacketFlag::TRUNCATION) {
        return Ok(Reply::Truncated);
    }
    match packet.rcode() {
        RCODE::NoError => {}
        RCODE::NameError => return Ok(Reply::NoSuchName),
        other => return Err(PacketError::Server(format!("{other:?}"))),
    }
    // The owner names the records may have: the name, and what it is an alias of.
    let mut owners = vec![asked];
    for _ in 0..8 {
        let next = packet.answers.iter().find_map(|rr| match &rr.rdata {
            RData::CNAME(cname) if owners.contains(&normalise(&rr.name.to_string())) => {
                Some(normalise(&cname.0.to_string()))
            }
            _ => None,
        });
        match next {
            Some(alias) if !owners.contains(&alias) => owners.push(alias),
            _ => break,
        }
    }
    let records = packet
        .answers
        .iter()
        .filter(|rr| owners.contains(&normalise(&rr.name.to_string())))
        .filter_map(|rr| match &rr.rdata {
            RData::SRV(srv) => Some(SrvRecord {
                priority: srv.priority,
                weight: srv.weight,
                port: srv.port,
                target: match normalise(&srv.target.to_string()) {
                    empty if empty.is_empty() => ".".to_string(),
                    target => target,
                },
            }),
            _ => None,
        })
        .collect();
    Ok(Reply::Records(records))
}

fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Orders records as RFC 2782 says: by priority, lowest first; within a
/// priority by weighted random selection, where `random(total)` returns a
/// number in `0..=total`. With the same `random`, the order is the same
/// whatever order the DNS server sent the records in.
///
/// ```
/// use ews_photo::autodiscover::srv::{order, SrvRecord};
/// let rec = |priority, weight, target: &str| SrvRecord { priority, weight, port: 443, target: target.into() };
/// let records = vec![rec(10, 0, "backup"), rec(0, 10, "light"), rec(0, 90, "heavy")];
/// // A random source that always answers its largest value picks the heaviest first.
/// let ordered = order(records, &mut |total| total);
/// let targets: Vec<&str> = ordered.iter().map(|r| r.target.as_str()).collect();
/// assert_eq!(targets, ["heavy", "light", "backup"]);
/// ```
pub fn order(mut records: Vec<SrvRecord>, random: &mut dyn FnMut(u32) -> u32) -> Vec<SrvRecord> {
    // A canonical start: zero weights first (the RFC's rule), then by weight and
    // name, so the server's order (dnsmasq rotates it) cannot change the result.
    records.sort_by(|a, b| {
        (a.priority, a.weight, &a.target, a.port).cmp(&(b.priority, b.weight, &b.target, b.port))
    });
    let mut ordered = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records[0].priority;
        let end = records
            .iter()
            .position(|r| r.priority != priority)
            .unwrap_or(records.len());
        let mut group: Vec<SrvRecord> = records.drain(..end).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let pick = random(total).min(total);
            let mut running = 0;
            let chosen = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= pick
                })
                .unwrap_or(0);
            ordered.push(group.remove(chosen));
        }
    }
    ordered
}

/// A record not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unused {
    /// The record.
    pub record: SrvRecord,
    /// Why it is not used.
    pub reason: &'static str,
}

/// At most this many SRV targets are tried.
pub const MAX_TARGETS: usize = 5;

/// The targets to try, in RFC 2782 order, and the records left out: not on
/// port 443, "no service" (`.`), a target already listed, or beyond
/// [`MAX_TARGETS`].
///
/// ```
/// use ews_photo::autodiscover::srv::{usable_targets, SrvRecord};
/// let rec = |priority, port, target: &str| SrvRecord { priority, weight: 0, port, target: target.into() };
/// let (targets, unused) = usable_targets(
///     vec![rec(20, 443, "b.contoso.com"), rec(10, 443, "a.contoso.com"), rec(0, 80, "plain.contoso.com")],
///     &mut |_| 0,
/// );
/// assert_eq!(targets, ["a.contoso.com", "b.contoso.com"]);
/// assert_eq!(unused[0].reason, "not on port 443");
/// ```
pub fn usable_targets(
    records: Vec<SrvRecord>,
    random: &mut dyn FnMut(u32) -> u32,
) -> (Vec<String>, Vec<Unused>) {
    let mut targets: Vec<String> = Vec::new();
    let mut unused = Vec::new();
    for record in order(records, random) {
        let reason = if record.port != 443 {
            Some("not on port 443")
        } else if record.target == "." {
            Some("the target '.' means no service")
        } else if !is_host_name(&record.target) {
            Some("the target is not a host name")
        } else if targets.contains(&record.target) {
            Some("the same target again")
        } else if targets.len() >= MAX_TARGETS {
            Some("more targets than are tried")
        } else {
            None
        };
        match reason {
            Some(reason) => unused.push(Unused { record, reason }),
            None => targets.push(record.target),
        }
    }
    (targets, unused)
}

/// Letters, digits, `-`, `_` and dots between non-empty labels: a target goes
/// into a URL, so nothing else may pass.
fn is_host_name(target: &str) -> bool {
    target.len() <= 253
        && target.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests;
