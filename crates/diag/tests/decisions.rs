//! Each decision of the connectivity test, from simulated probe results.

use std::net::SocketAddr;

use homeline_diag::checks::{self, LifetimeResult};
use homeline_diag::probes::*;
use homeline_diag::quality::{self, Sample};
use homeline_diag::{Check, CheckId, Report, SafeFix, SipTransport, Status, VerdictKind};
use homeline_nat::behaviour::{BehaviourReport, DiscoveryMethod, Filtering, Mapping};

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

fn ok(id: CheckId) -> Check {
    Check::new(id, Status::Ok, "fine")
}

fn stun_ok(server: &str, mapped: &str) -> StunProbe {
    StunProbe {
        server: server.into(),
        outcome: StunOutcome::Mapped {
            mapped: sa(mapped),
            rtt_ms: 12,
        },
    }
}

fn behaviour(mapping: Option<Mapping>, filtering: Option<Filtering>) -> BehaviourReport {
    BehaviourReport {
        local: sa("10.23.0.2:40000"),
        mapped: Some(sa("203.0.113.1:40000")),
        mapping,
        filtering,
        method: DiscoveryMethod::Rfc5780,
        servers_answered: 1,
    }
}

fn relays_ok() -> RelayProbe {
    RelayProbe::Tested {
        results: vec![
            RelayResult {
                server: "turn:203.0.113.10".into(),
                transport: "udp".into(),
                rtt_ms: Some(30),
                mapped: Some(sa("203.0.113.1:5000")),
                error: None,
                used: false,
            },
            RelayResult {
                server: "turn:203.0.113.10".into(),
                transport: "tcp".into(),
                rtt_ms: Some(9),
                mapped: Some(sa("203.0.113.1:5001")),
                error: None,
                used: false,
            },
        ],
    }
}

// ---- quality and MOS ----

#[test]
fn mos_follows_twilios_formula() {
    // EL = 100 + 60 + 10 = 170 ≥ 160 → R = 94.768 − 5 = 89.768.
    let r: f64 = 89.768;
    let want = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
    assert!((quality::estimate_mos(100.0, 30.0, 0.0) - want).abs() < 1e-9);
    // EL = 20 + 0 + 10 = 30 < 160 → R = 94.768 − 0.75; loss 2 % → −5.
    let r: f64 = 94.768 - 0.75 - 5.0;
    let want = 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r);
    assert!((quality::estimate_mos(20.0, 0.0, 2.0) - want).abs() < 1e-9);
    // A perfect line is about 4.4; a hopeless one bottoms out at 1.
    assert!(quality::estimate_mos(0.0, 0.0, 0.0) > 4.4);
    assert!((quality::estimate_mos(5000.0, 500.0, 100.0) - 1.0).abs() < 1e-9);
}

#[test]
fn mos_bands_have_no_gaps() {
    assert_eq!(quality::mos_status(4.0), Status::Ok);
    assert_eq!(quality::mos_status(3.9999), Status::Warning);
    assert_eq!(quality::mos_status(3.6), Status::Warning);
    assert_eq!(quality::mos_status(3.5999), Status::Problem);
    // Every value in between has a band.
    let mut m = 1.0;
    while m < 4.5 {
        let s = quality::mos_status(m);
        assert!(matches!(s, Status::Ok | Status::Warning | Status::Problem));
        m += 0.001;
    }
}

fn probe(n: u32, rtt: impl Fn(u32) -> Option<f64>) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let sent = f64::from(i) * 20.0;
            Sample {
                seq: i,
                sent_ms: sent,
                received_ms: rtt(i).map(|r| sent + r),
            }
        })
        .collect()
}

#[test]
fn quality_stats_rtt_jitter_loss_bursts_reordering() {
    // 250 packets (5 s): RTT alternating 40/60 → mean 50, jitter 20; seq 10..13 lost (a burst
    // of 3), seq 100 lost alone → 4 lost of 250 → 1.6 %.
    let s = probe(250, |i| {
        if (10..13).contains(&i) || i == 100 {
            None
        } else if i % 2 == 0 {
            Some(40.0)
        } else {
            Some(60.0)
        }
    });
    let st = quality::stats(&s).expect("stats");
    assert_eq!(st.sent, 250);
    assert_eq!(st.received, 246);
    assert!((st.loss_pct - 1.6).abs() < 1e-9);
    assert!((st.rtt_ms - 50.0).abs() < 0.2);
    assert!(
        st.jitter_ms > 18.0 && st.jitter_ms <= 20.0,
        "{}",
        st.jitter_ms
    );
    assert_eq!(st.max_burst, 3);
    assert_eq!(st.bursts.len(), 1);
    assert_eq!(st.bursts[0].first_seq, 10);
    assert_eq!(st.reordered, 0);

    // An answer that takes 60 ms longer than the next one arrives after it: reordered.
    let s = probe(10, |i| Some(if i == 3 { 80.0 } else { 10.0 }));
    let st = quality::stats(&s).expect("stats");
    // seq 3 arrives at 140, after seq 4 (90), 5 (110), 6 (130): one reordered answer.
    assert_eq!(st.reordered, 1);
}

#[test]
fn quality_check_bands_and_thresholds() {
    let good = quality::check(&probe(250, |_| Some(30.0)), "to the STUN server");
    assert_eq!(good.status, Status::Ok, "{}", good.finding);
    assert!(good.fix.is_none());

    // 150 ms RTT: above Teams' 100 ms → warning even with a good MOS.
    let slow = quality::check(&probe(250, |_| Some(150.0)), "x");
    assert_eq!(slow.status, Status::Warning, "{}", slow.finding);
    assert!(slow.finding.contains("delay"));

    // 500 ms: above Twilio's 400 → problem.
    let awful = quality::check(&probe(250, |_| Some(500.0)), "x");
    assert_eq!(awful.status, Status::Problem);

    // 2 % loss: warning; 5 % loss: problem.
    let lossy = quality::check(&probe(100, |i| (i % 50 != 0).then_some(20.0)), "x");
    assert_eq!(lossy.status, Status::Warning, "{}", lossy.finding);
    let lossier = quality::check(&probe(100, |i| (i % 20 != 0).then_some(20.0)), "x");
    assert_eq!(lossier.status, Status::Problem, "{}", lossier.finding);

    // 40 ms jitter: warning.
    let jittery = quality::check(
        &probe(250, |i| Some(if i % 2 == 0 { 10.0 } else { 50.0 })),
        "x",
    );
    assert_eq!(jittery.status, Status::Warning, "{}", jittery.finding);
    assert!(jittery.finding.contains("jitter"));

    // Nothing back at all.
    // Nothing back at all: the rtp check names it; quality does not repeat it as a problem.
    let dead = quality::check(&probe(50, |_| None), "x");
    assert_eq!(dead.status, Status::Skipped);
    assert!(dead.finding.contains("none of the test packets came back"));
    // Nothing sent.
    assert_eq!(quality::check(&[], "x").status, Status::Skipped);
}

// ---- udp ----

#[test]
fn udp_ok_blocked_garbage_and_partial() {
    let c = checks::udp(&[stun_ok("stun:a", "203.0.113.1:4000")], None, false);
    assert_eq!(c.status, Status::Ok);

    let blocked = checks::udp(
        &[StunProbe {
            server: "stun:a".into(),
            outcome: StunOutcome::NoAnswer,
        }],
        Some(false),
        true,
    );
    assert_eq!(blocked.status, Status::Problem);
    assert!(blocked.finding.contains("blocks UDP"));
    assert!(blocked.safe_fixes.contains(&SafeFix::ForceRelay));
    // Without a working relay, forcing it would help nothing: not offered.
    let no_relay = checks::udp(
        &[StunProbe {
            server: "stun:a".into(),
            outcome: StunOutcome::NoAnswer,
        }],
        Some(false),
        false,
    );
    assert!(no_relay.safe_fixes.is_empty());
    assert!(no_relay.fix.as_deref().unwrap_or("").contains("allow UDP"));

    // SIP over UDP answered even though STUN did not: UDP works.
    let via_sip = checks::udp(
        &[StunProbe {
            server: "stun:a".into(),
            outcome: StunOutcome::NoAnswer,
        }],
        Some(true),
        false,
    );
    assert_ne!(via_sip.status, Status::Problem);

    let garbage = checks::udp(
        &[StunProbe {
            server: "stun:a".into(),
            outcome: StunOutcome::Garbage {
                why: "not a STUN message".into(),
            },
        }],
        None,
        false,
    );
    assert_eq!(garbage.status, Status::Warning);

    let partial = checks::udp(
        &[
            stun_ok("stun:a", "203.0.113.1:4000"),
            StunProbe {
                server: "stun:b".into(),
                outcome: StunOutcome::NoAnswer,
            },
        ],
        None,
        false,
    );
    assert_eq!(partial.status, Status::Warning);
    assert!(partial.finding.contains("stun:b"));

    assert_eq!(checks::udp(&[], None, false).status, Status::Skipped);
    // Only a silent SIP server and no STUN server: not proof that UDP is blocked.
    let unsure = checks::udp(&[], Some(false), false);
    assert_eq!(unsure.status, Status::Warning);
    assert!(unsure.finding.contains("could not be confirmed"));
}

// ---- sip_ports ----

fn cell(t: SipTransport, port: u16, outcome: PortOutcome) -> PortProbe {
    PortProbe {
        transport: t,
        port,
        outcome,
    }
}

fn answered() -> PortOutcome {
    PortOutcome::Answered {
        code: 200,
        rtt_ms: 5,
    }
}

#[test]
fn sip_ports_own_way_works() {
    let c = checks::sip_ports(
        &[
            cell(SipTransport::Udp, 5060, answered()),
            cell(SipTransport::Tcp, 8080, PortOutcome::RequestLost),
        ],
        (SipTransport::Udp, 5060),
    );
    assert_eq!(c.status, Status::Ok);
    assert!(c.finding.contains("TCP port 8080"), "{}", c.finding);
    assert!(c.safe_fixes.is_empty());
}

#[test]
fn sip_ports_blocked_5060_names_it_and_the_alternative() {
    let c = checks::sip_ports(
        &[
            cell(SipTransport::Udp, 5060, PortOutcome::ResponseLost),
            cell(SipTransport::Tcp, 5060, PortOutcome::RequestLost),
            cell(SipTransport::Udp, 6060, answered()),
            cell(SipTransport::Tls, 5061, answered()),
        ],
        (SipTransport::Udp, 5060),
    );
    assert_eq!(c.status, Status::Problem);
    assert!(c.finding.contains("UDP port 5060"), "{}", c.finding);
    assert!(c.finding.contains("TLS port 5061 works"), "{}", c.finding);
    assert_eq!(
        c.safe_fixes,
        vec![SafeFix::Transport {
            transport: SipTransport::Tls,
            port: 5061
        }]
    );
    assert!(c.reason.as_deref().unwrap_or("").contains("5060"));
}

#[test]
fn sip_ports_nothing_works_names_the_tls_failure() {
    let c = checks::sip_ports(
        &[
            cell(SipTransport::Udp, 5060, PortOutcome::ResponseLost),
            cell(
                SipTransport::Tls,
                5061,
                PortOutcome::TlsFailed {
                    why: "the certificate is not trusted".into(),
                },
            ),
        ],
        (SipTransport::Udp, 5060),
    );
    assert_eq!(c.status, Status::Problem);
    assert!(
        c.finding.contains("certificate is not trusted"),
        "{}",
        c.finding
    );
    assert!(c.safe_fixes.is_empty());
}

// ---- nat_type ----

#[test]
fn nat_type_cone_symmetric_unknown() {
    let cone = checks::nat_type(
        Some(&behaviour(
            Some(Mapping::EndpointIndependent),
            Some(Filtering::AddressAndPortDependent),
        )),
        false,
        false,
    );
    assert_eq!(cone.status, Status::Ok);
    assert_eq!(cone.details["mapping"], "endpoint-independent");
    assert_eq!(cone.details["filtering"], "address-and-port-dependent");

    let sym = checks::nat_type(
        Some(&behaviour(Some(Mapping::AddressAndPortDependent), None)),
        true,
        false,
    );
    assert_eq!(sym.status, Status::Problem);
    assert!(sym.finding.contains("symmetric"));
    assert_eq!(sym.safe_fixes, vec![SafeFix::ForceRelay]);
    assert_eq!(sym.details["mapping"], "address-and-port-dependent");

    // Already relayed: only a warning, no fix left to apply.
    let relayed = checks::nat_type(
        Some(&behaviour(Some(Mapping::AddressDependent), None)),
        true,
        true,
    );
    assert_eq!(relayed.status, Status::Warning);
    assert!(relayed.safe_fixes.is_empty());

    let unknown = checks::nat_type(Some(&behaviour(None, None)), false, false);
    assert_eq!(unknown.status, Status::Warning);

    let mut blocked = behaviour(None, None);
    blocked.mapped = None;
    assert_eq!(
        checks::nat_type(Some(&blocked), false, false).status,
        Status::Skipped
    );

    let mut cgnat = behaviour(Some(Mapping::EndpointIndependent), None);
    cgnat.mapped = Some(sa("100.64.3.4:1000"));
    let c = checks::nat_type(Some(&cgnat), false, false);
    assert_eq!(c.status, Status::Warning);
    assert!(c.finding.contains("double NAT"));
}

// ---- sip_alg ----

fn echo(port: u16, transport: SipTransport, received: Option<&str>) -> ViaEcho {
    ViaEcho {
        transport,
        server_port: port,
        sent_by: sa("10.23.0.2:40000"),
        echoed_sent_by: Some("10.23.0.2:40000".into()),
        received: received.map(|r| r.parse().expect("ip")),
        rport: Some(40000),
    }
}

#[test]
fn sip_alg_detected_from_a_plain_registrars_via() {
    let public = Some(sa("203.0.113.1:40000"));
    // Without an ALG the registrar adds received=<public>: clean.
    let clean = checks::sip_alg(
        &[echo(5060, SipTransport::Udp, Some("203.0.113.1"))],
        public,
    );
    assert_eq!(clean.status, Status::Ok);
    assert_eq!(clean.details["detected"], false);

    // With nf_nat_sip the sent-by reached the server already rewritten (no received), and on
    // another port (no helper there) it is not: detected, and the other port is the fix.
    let alg = checks::sip_alg(
        &[
            echo(5060, SipTransport::Udp, None),
            echo(6060, SipTransport::Udp, Some("203.0.113.1")),
        ],
        public,
    );
    assert_eq!(alg.status, Status::Problem);
    assert_eq!(alg.details["detected"], true);
    assert!(alg.finding.contains("SIP ALG"));
    assert!(alg.finding.contains("5060"));
    assert_eq!(
        alg.safe_fixes,
        vec![SafeFix::Transport {
            transport: SipTransport::Udp,
            port: 6060
        }]
    );

    // A router that rewrites received= back to our private address.
    let back = checks::sip_alg(&[echo(5060, SipTransport::Udp, Some("10.23.0.2"))], public);
    assert_eq!(back.status, Status::Problem);

    // The kernel's helper rewrites SIP over TCP as well.
    let tcp = checks::sip_alg(&[echo(5060, SipTransport::Tcp, None)], public);
    assert_eq!(tcp.status, Status::Problem);

    // TLS cannot be rewritten: never flagged.
    let tls = checks::sip_alg(&[echo(5061, SipTransport::Tls, None)], public);
    assert_eq!(tls.status, Status::Ok);

    // No NAT at all (public local address, no received needed): clean.
    let mut direct = echo(5060, SipTransport::Udp, None);
    direct.sent_by = sa("203.0.113.50:5060");
    let c = checks::sip_alg(&[direct], Some(sa("203.0.113.50:5060")));
    assert_eq!(c.status, Status::Ok);

    assert_eq!(checks::sip_alg(&[], public).status, Status::Skipped);
}

// ---- nat_timeout ----

#[test]
fn keepalive_recommendation_is_half_the_lifetime_within_the_config_range() {
    assert_eq!(checks::recommended_keepalive(30), 20);
    assert_eq!(checks::recommended_keepalive(60), 30);
    assert_eq!(checks::recommended_keepalive(120), 60);
    assert_eq!(checks::recommended_keepalive(600), 170);
}

#[test]
fn nat_timeout_short_router_with_a_slow_keepalive_is_a_problem() {
    let r = LifetimeResult::Measured {
        survived_s: 30,
        lifetime_s: 33,
    };
    let c = checks::nat_timeout(r.clone(), 60);
    assert_eq!(c.status, Status::Problem);
    assert_eq!(c.details["binding_lifetime_s"], 30);
    assert_eq!(c.details["recommended_keepalive_s"], 20);
    assert_eq!(c.safe_fixes, vec![SafeFix::KeepAlive { secs: 20 }]);
    assert!(c.finding.contains("30 seconds"));

    // The default 25 s keep-alive is in time but tight: warning with the same fix.
    let c = checks::nat_timeout(r.clone(), 25);
    assert_eq!(c.status, Status::Warning);
    assert_eq!(c.safe_fixes, vec![SafeFix::KeepAlive { secs: 20 }]);

    // Keep-alive at the recommendation: ok.
    assert_eq!(checks::nat_timeout(r.clone(), 20).status, Status::Ok);
    // Keep-alives off: problem.
    assert_eq!(checks::nat_timeout(r, 0).status, Status::Problem);

    let long = checks::nat_timeout(LifetimeResult::AtLeast { survived_s: 200 }, 25);
    assert_eq!(long.status, Status::Ok);
    assert!(
        checks::nat_timeout(LifetimeResult::NotMeasured("UDP is blocked".into()), 25)
            .finding
            .contains("UDP is blocked")
    );
}

// ---- route, rtp, relays, dns, audio ----

#[test]
fn route_names_a_second_way_out() {
    let same = checks::route(
        Some(sa("203.0.113.1:4000")),
        Some("203.0.113.1".parse().expect("ip")),
        None,
        false,
    );
    assert_eq!(same.status, Status::Ok);
    let vpn = checks::route(
        Some(sa("203.0.113.1:4000")),
        Some("198.51.100.7".parse().expect("ip")),
        None,
        false,
    );
    assert_eq!(vpn.status, Status::Warning);
    assert!(vpn.finding.contains("VPN"));
    // An ALG's rewritten view does not count as another route.
    let alg = checks::route(
        Some(sa("203.0.113.1:4000")),
        Some("10.23.0.2".parse().expect("ip")),
        None,
        true,
    );
    assert_eq!(alg.status, Status::Skipped);
}

#[test]
fn rtp_and_relays() {
    let c = checks::rtp(
        &RtpOutcome::NoAnswer {
            path: "to the STUN server".into(),
        },
        true,
    );
    assert_eq!(c.status, Status::Problem);
    assert_eq!(c.safe_fixes, vec![SafeFix::ForceRelay]);

    assert_eq!(
        checks::relays(&RelayProbe::NotConfigured).status,
        Status::Skipped
    );
    let not_run = checks::relays(&RelayProbe::NotRun {
        why: "the relay test is not connected yet".into(),
    });
    assert_eq!(not_run.status, Status::Warning);
    assert!(not_run.finding.contains("no relay test ran"));

    let tested = checks::relays(&relays_ok());
    assert_eq!(tested.status, Status::Ok);
    assert!(tested.finding.contains("TCP"), "{}", tested.finding);
    assert_eq!(tested.details["chosen"]["transport"], "tcp");

    let dead = checks::relays(&RelayProbe::Tested {
        results: vec![RelayResult {
            server: "turn:x".into(),
            transport: "udp".into(),
            rtt_ms: None,
            mapped: None,
            error: Some("wrong password".into()),
            used: false,
        }],
    });
    assert_eq!(dead.status, Status::Problem);
    assert!(dead.finding.contains("wrong password"));
}

#[test]
fn dns_and_audio() {
    let ok = checks::dns(&[DnsLookup {
        name: "sip.example.net".into(),
        purpose: DnsPurpose::Sip,
        result: Ok(vec![sa("192.0.2.1:5060")]),
        elapsed_ms: 3,
    }]);
    assert_eq!(ok.status, Status::Ok);
    let bad = checks::dns(&[DnsLookup {
        name: "sip.example.net".into(),
        purpose: DnsPurpose::Sip,
        result: Err("no such name".into()),
        elapsed_ms: 3,
    }]);
    assert_eq!(bad.status, Status::Problem);
    assert!(bad.finding.contains("sip.example.net"));
    let stun_bad = checks::dns(&[DnsLookup {
        name: "stun.example.net".into(),
        purpose: DnsPurpose::Stun,
        result: Err("no such name".into()),
        elapsed_ms: 3,
    }]);
    assert_eq!(stun_bad.status, Status::Warning);
    assert_eq!(checks::dns(&[]).status, Status::Skipped);

    let a = checks::audio(Some(&AudioProbe {
        microphone: Ok(("Headset".into(), Some(0.0))),
        speaker: Ok("Headset".into()),
    }));
    assert_eq!(a.status, Status::Warning);
    assert!(a.finding.contains("silence"));
}

// ---- verdicts ----

fn all_ok_but(mut changed: Vec<Check>) -> Vec<Check> {
    for id in CheckId::ALL {
        if !changed.iter().any(|c| c.id == id) {
            changed.push(ok(id));
        }
    }
    changed
}

#[test]
fn verdict_works_when_nothing_is_a_problem() {
    let r = Report::new(all_ok_but(vec![]), 1234);
    assert_eq!(r.verdict, "Calls will work");
    assert_eq!(r.verdict_kind, VerdictKind::Works);
    assert!(!r.has_problem());
    // Report order is the id order.
    let ids: Vec<CheckId> = r.checks.iter().map(|c| c.id).collect();
    assert_eq!(ids, CheckId::ALL.to_vec());
}

#[test]
fn verdict_symmetric_nat_with_a_working_relay() {
    let sym = checks::nat_type(
        Some(&behaviour(Some(Mapping::AddressAndPortDependent), None)),
        true,
        false,
    );
    let r = Report::new(all_ok_but(vec![sym, checks::relays(&relays_ok())]), 1);
    assert_eq!(r.verdict, "Calls will work with the relay");
    assert!(r.has_problem());
    assert_eq!(
        r.safe_fixes(),
        vec![(CheckId::NatType, SafeFix::ForceRelay)]
    );
}

#[test]
fn verdict_symmetric_nat_without_relay_fails() {
    let sym = checks::nat_type(
        Some(&behaviour(Some(Mapping::AddressAndPortDependent), None)),
        false,
        false,
    );
    let r = Report::new(
        all_ok_but(vec![sym, checks::relays(&RelayProbe::NotConfigured)]),
        1,
    );
    assert_eq!(r.verdict_kind, VerdictKind::Fails);
    assert!(r.verdict.starts_with("Calls will fail: "), "{}", r.verdict);
    assert!(r.verdict.contains("symmetric"), "{}", r.verdict);
}

#[test]
fn verdict_udp_blocked_with_tls_and_a_tcp_relay() {
    let udp = checks::udp(
        &[StunProbe {
            server: "stun:a".into(),
            outcome: StunOutcome::NoAnswer,
        }],
        Some(false),
        true,
    );
    let ports = checks::sip_ports(
        &[
            cell(SipTransport::Udp, 5060, PortOutcome::ResponseLost),
            cell(SipTransport::Tls, 443, answered()),
        ],
        (SipTransport::Udp, 5060),
    );
    let r = Report::new(
        all_ok_but(vec![udp, ports, checks::relays(&relays_ok())]),
        1,
    );
    assert_eq!(r.verdict, "Calls will work with the relay");
    let fixes: Vec<SafeFix> = r.safe_fixes().into_iter().map(|(_, f)| f).collect();
    assert!(fixes.contains(&SafeFix::ForceRelay));
    assert!(fixes.contains(&SafeFix::Transport {
        transport: SipTransport::Tls,
        port: 443
    }));
}

#[test]
fn verdict_fails_names_the_most_basic_problem() {
    let ports = checks::sip_ports(
        &[
            cell(SipTransport::Udp, 5060, PortOutcome::ResponseLost),
            cell(SipTransport::Udp, 6060, answered()),
        ],
        (SipTransport::Udp, 5060),
    );
    let timeout = checks::nat_timeout(
        LifetimeResult::Measured {
            survived_s: 30,
            lifetime_s: 33,
        },
        60,
    );
    let r = Report::new(all_ok_but(vec![timeout, ports]), 1);
    assert_eq!(r.verdict_kind, VerdictKind::Fails);
    assert!(r.verdict.contains("5060"), "{}", r.verdict);
    assert!(r.verdict.contains("1 more problem"), "{}", r.verdict);
}

#[test]
fn report_json_has_the_contract_fields() {
    let r = Report::new(all_ok_but(vec![]), 42);
    let v = serde_json::to_value(&r).expect("json");
    assert_eq!(v["verdict"], "Calls will work");
    assert_eq!(v["duration_ms"], 42);
    assert!(v["fixes_applied"].as_array().expect("array").is_empty());
    let c = &v["checks"][0];
    for k in ["id", "status", "finding", "fix", "details"] {
        assert!(c.get(k).is_some(), "missing {k}");
    }
    assert_eq!(c["id"], "dns");
    assert_eq!(c["status"], "ok");
    assert_eq!(v["checks"][2]["id"], "sip_ports");
}

#[test]
fn quality_details_carry_every_packet_for_the_plot() {
    // Packet 3 and 4 are lost; the others come back after 20 + seq ms.
    let c = quality::check(
        &probe(10, |i| (i != 3 && i != 4).then_some(20.0 + f64::from(i))),
        "x",
    );
    let samples = c.details["samples"].as_array().expect("samples listed");
    assert_eq!(samples.len(), 10);
    assert_eq!(samples[0]["seq"], 0);
    assert_eq!(samples[2]["rtt_ms"], 22.0);
    assert!(samples[3]["rtt_ms"].is_null());
    assert!(samples[4]["rtt_ms"].is_null());
    assert_eq!(samples[5]["sent_ms"], 100.0);
}
