//! The SRV packets and RFC 2782's order.

use super::*;

const NAME: &str = "_autodiscover._tcp.contoso.com";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// dnsmasq 2.90's answer (id 0x4242) for three `--srv-host` records:
/// mail 443 priority 10 weight 5, backup 443 20/5, plain 80 0/0.
const DNSMASQ_ANSWER: &str = "4242858000010003000000000d5f6175746f646973636f766572045f74637007636f6e746f736f03636f6d0000210001c00c0021000100000000001900000000005005706c61696e07636f6e746f736f03636f6d00c00c0021000100000000001a0014000501bb066261636b757007636f6e746f736f03636f6d00c00c00210001000000000018000a000501bb046d61696c07636f6e746f736f03636f6d00";
/// dnsmasq's NXDOMAIN for a name under `--local=/contoso.com/`.
const DNSMASQ_NXDOMAIN: &str = "4242818300010000000000000d5f6175746f646973636f766572045f7463700866616272696b616d07636f6e746f736f03636f6d0000210001";
/// dnsmasq's REFUSED for a name outside its zones, with `--no-resolv`.
const DNSMASQ_REFUSED: &str =
    "4242818500010000000000000d5f6175746f646973636f766572045f746370056f74686572036f72670000210001";

fn rec(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
    SrvRecord {
        priority,
        weight,
        port,
        target: target.into(),
    }
}

#[test]
fn the_query_is_a_recursive_srv_question() {
    let bytes = query(0x4242, NAME).unwrap();
    let packet = Packet::parse(&bytes).unwrap();
    assert_eq!(packet.id(), 0x4242);
    assert!(packet.has_flags(PacketFlag::RECURSION_DESIRED));
    assert!(!packet.has_flags(PacketFlag::RESPONSE));
    assert_eq!(packet.questions.len(), 1);
    assert_eq!(packet.questions[0].qname.to_string(), NAME);
    assert_eq!(packet.questions[0].qtype, QTYPE::TYPE(TYPE::SRV));
    assert_eq!(packet.questions[0].qclass, QCLASS::CLASS(CLASS::IN));
    // The same bytes a hand-built query has (the one the dnsmasq answer above replied to).
    let mut expected = hex("424201000001000000000000");
    for label in NAME.split('.') {
        expected.push(label.len() as u8);
        expected.extend_from_slice(label.as_bytes());
    }
    expected.extend_from_slice(&[0, 0, 33, 0, 1]);
    assert_eq!(bytes, expected);
    assert!(matches!(
        query(1, &"x".repeat(64)),
        Err(PacketError::BadName(_))
    ));
}

#[test]
fn a_real_dnsmasq_answer() {
    let reply = parse_reply(0x4242, NAME, &hex(DNSMASQ_ANSWER)).unwrap();
    assert_eq!(
        reply,
        Reply::Records(vec![
            rec(0, 0, 80, "plain.contoso.com"),
            rec(20, 5, 443, "backup.contoso.com"),
            rec(10, 5, 443, "mail.contoso.com"),
        ])
    );
    // The name compared without regard to case and a trailing dot.
    assert!(
        parse_reply(
            0x4242,
            "_AUTODISCOVER._tcp.Contoso.com.",
            &hex(DNSMASQ_ANSWER)
        )
        .is_ok()
    );
}

#[test]
fn nxdomain_refused_and_stray_answers() {
    let nx_name = "_autodiscover._tcp.fabrikam.contoso.com";
    assert_eq!(
        parse_reply(0x4242, nx_name, &hex(DNSMASQ_NXDOMAIN)),
        Ok(Reply::NoSuchName)
    );
    assert_eq!(
        parse_reply(
            0x4242,
            "_autodiscover._tcp.other.org",
            &hex(DNSMASQ_REFUSED)
        ),
        Err(PacketError::Server("Refused".into()))
    );
    // Another id, another question, or our own query echoed back.
    assert_eq!(
        parse_reply(0x4243, NAME, &hex(DNSMASQ_ANSWER)),
        Err(PacketError::NotOurs)
    );
    assert_eq!(
        parse_reply(0x4242, nx_name, &hex(DNSMASQ_ANSWER)),
        Err(PacketError::NotOurs)
    );
    assert_eq!(
        parse_reply(0x4242, NAME, &query(0x4242, NAME).unwrap()),
        Err(PacketError::NotOurs)
    );
}

#[test]
fn every_cut_of_a_real_answer_is_an_error_never_a_panic() {
    let bytes = hex(DNSMASQ_ANSWER);
    for end in 0..bytes.len() {
        assert!(
            parse_reply(0x4242, NAME, &bytes[..end]).is_err(),
            "cut at {end}"
        );
    }
    // And flipped bytes parse or fail, but do not panic.
    for at in 0..bytes.len() {
        let mut broken = bytes.clone();
        broken[at] ^= 0xff;
        let _ = parse_reply(0x4242, NAME, &broken);
    }
}

fn answer(build: impl FnOnce(&mut Packet)) -> Vec<u8> {
    let mut packet = Packet::new_reply(7);
    packet.questions.push(Question::new(
        Name::new_unchecked(NAME),
        QTYPE::TYPE(TYPE::SRV),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    build(&mut packet);
    packet.build_bytes_vec().unwrap()
}

fn srv_rr<'a>(owner: &'a str, target: &'a str, priority: u16) -> simple_dns::ResourceRecord<'a> {
    simple_dns::ResourceRecord::new(
        Name::new_unchecked(owner),
        CLASS::IN,
        300,
        RData::SRV(simple_dns::rdata::SRV {
            priority,
            weight: 1,
            port: 443,
            target: Name::new_unchecked(target),
        }),
    )
}

#[test]
fn a_cname_in_the_answer_is_followed_and_other_owners_are_ignored() {
    let alias = "_autodiscover._tcp.hosted.example";
    let bytes = answer(|p| {
        p.answers.push(simple_dns::ResourceRecord::new(
            Name::new_unchecked(NAME),
            CLASS::IN,
            300,
            RData::CNAME(simple_dns::rdata::CNAME(Name::new_unchecked(alias))),
        ));
        p.answers.push(srv_rr(alias, "ad.hosted.example", 0));
        p.answers
            .push(srv_rr("_other._tcp.evil.example", "evil.example", 0));
    });
    assert_eq!(
        parse_reply(7, NAME, &bytes).unwrap(),
        Reply::Records(vec![SrvRecord {
            priority: 0,
            weight: 1,
            port: 443,
            target: "ad.hosted.example".into()
        }])
    );
}

#[test]
fn truncation_and_the_root_target() {
    let truncated = answer(|p| p.set_flags(PacketFlag::TRUNCATION));
    assert_eq!(parse_reply(7, NAME, &truncated), Ok(Reply::Truncated));
    let none = answer(|p| p.answers.push(srv_rr(NAME, "", 0)));
    assert_eq!(
        parse_reply(7, NAME, &none),
        Ok(Reply::Records(vec![rec(0, 1, 443, ".")]))
    );
    let empty = answer(|_| {});
    assert_eq!(parse_reply(7, NAME, &empty), Ok(Reply::Records(vec![])));
}

#[test]
fn lowest_priority_value_first_not_highest_as_exchangelib_does() {
    // exchangelib's test_select_srv_host expects "10.example.com" here.
    let records = vec![
        rec(10, 2, 443, "10.example.com"),
        rec(1, 2, 443, "1.example.com"),
    ];
    let (targets, _) = usable_targets(records, &mut |_| 0);
    assert_eq!(targets, ["1.example.com", "10.example.com"]);
}

#[test]
fn weighted_selection_follows_the_random_source() {
    let records = || {
        vec![
            rec(0, 60, 443, "c"),
            rec(0, 30, 443, "b"),
            rec(0, 0, 443, "zero"),
            rec(0, 10, 443, "a"),
        ]
    };
    let targets = |picks: &[u32]| {
        let mut picks = picks.iter().copied();
        order(records(), &mut |total| picks.next().unwrap_or(total))
            .into_iter()
            .map(|r| r.target)
            .collect::<Vec<_>>()
    };
    // Canonical order: zero(0) a(10) b(30) c(60); running sums 0 10 40 100.
    assert_eq!(targets(&[0, 0, 0, 0]), ["zero", "a", "b", "c"]);
    assert_eq!(targets(&[0]), ["zero", "c", "b", "a"]);
    assert_eq!(targets(&[100]), ["c", "b", "a", "zero"]);
    assert_eq!(targets(&[11]), ["b", "c", "a", "zero"]);
    // After b: zero(0) a(10) c(60), sums 0 10 70; 5 picks a.
    assert_eq!(targets(&[40, 5, 0]), ["b", "a", "zero", "c"]);
    // The server's order does not matter.
    let mut shuffled = records();
    shuffled.reverse();
    let mut picks = [11u32].into_iter();
    let again: Vec<String> = order(shuffled, &mut |t| picks.next().unwrap_or(t))
        .into_iter()
        .map(|r| r.target)
        .collect();
    assert_eq!(again, targets(&[11]));
}

#[test]
fn weights_are_proportional_over_many_seeded_draws() {
    let mut random = fastrand::Rng::with_seed(2782);
    let mut heavy_first = 0;
    for _ in 0..10_000 {
        let first = order(
            vec![rec(0, 90, 443, "heavy"), rec(0, 10, 443, "light")],
            &mut |t| random.u32(0..=t),
        );
        if first[0].target == "heavy" {
            heavy_first += 1;
        }
    }
    // Heavy comes first when the pick is 11..=100 of 0..=100: 90/101.
    assert!((8_700..=9_100).contains(&heavy_first), "{heavy_first}");
}

#[test]
fn only_port_443_and_real_host_names_are_used() {
    let (targets, unused) = usable_targets(
        vec![
            rec(0, 0, 80, "plain.contoso.com"),
            rec(1, 0, 443, "."),
            rec(2, 0, 443, "mail.contoso.com"),
            rec(3, 0, 443, "mail.contoso.com"),
            rec(4, 0, 443, "evil/path@x"),
            rec(5, 0, 8443, "alt.contoso.com"),
        ],
        &mut |_| 0,
    );
    assert_eq!(targets, ["mail.contoso.com"]);
    let reasons: Vec<(&str, &str)> = unused
        .iter()
        .map(|u| (u.record.target.as_str(), u.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("plain.contoso.com", "not on port 443"),
            (".", "the target '.' means no service"),
            ("mail.contoso.com", "the same target again"),
            ("evil/path@x", "the target is not a host name"),
            ("alt.contoso.com", "not on port 443"),
        ]
    );
}

#[test]
fn at_most_five_targets() {
    let records = (0..8)
        .map(|i| rec(i, 0, 443, &format!("h{i}.contoso.com")))
        .collect();
    let (targets, unused) = usable_targets(records, &mut |_| 0);
    assert_eq!(targets.len(), MAX_TARGETS);
    assert_eq!(unused.len(), 3);
    assert!(
        unused
            .iter()
            .all(|u| u.reason == "more targets than are tried")
    );
}
