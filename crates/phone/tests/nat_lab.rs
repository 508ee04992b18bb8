//! The NAT drivers against a real coturn in the lab (root; skipped otherwise): the
//! server-reflexive address of a socket behind the home router, a dead STUN server beside a
//! live one costing nothing, and the relay probe (library level; the CLI's view is in
//! `crates/cli/tests/relays_lab.rs`).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_lab::{CoturnConfig, Lab, RouterProfile};
use homeline_nat::TurnUri;
use homeline_phone::nat::{RelayTarget, probe_relays, stun::srflx};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn srflx_is_the_routers_address_and_a_dead_server_costs_nothing() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let c = lab
        .start_coturn(CoturnConfig::new().user("alice", "secret"))
        .unwrap();
    // Nothing listens on the public host's port 9: a dead STUN server, asked first.
    let dead: SocketAddr = SocketAddr::new(lab.public_ip(), 9);
    let live = c.addr();
    let (found, took) = lab
        .client()
        .run(|| {
            rt().block_on(async {
                let sock = tokio::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
                let t0 = Instant::now();
                let r = srflx(&sock, &[dead, live], Duration::from_millis(500)).await;
                (r, t0.elapsed())
            })
        })
        .unwrap();
    let (server, result) = found.expect("the live server answers");
    assert_eq!(server, live);
    assert_eq!(result.mapped.ip(), lab.router_public_ip());
    // The dead server is not waited for: the answer of the live one ends the gathering.
    assert!(took < Duration::from_millis(300), "{took:?}");
    eprintln!("srflx with one dead STUN server beside a live one: {took:?}");
}

#[test]
fn srflx_with_only_dead_servers_gives_up_at_the_limit() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::UdpBlocked).unwrap() else {
        return;
    };
    let c = lab
        .start_coturn(CoturnConfig::new().user("alice", "secret"))
        .unwrap();
    let (found, took) = lab
        .client()
        .run(|| {
            rt().block_on(async {
                let sock = tokio::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
                let t0 = Instant::now();
                let r = srflx(&sock, &[c.addr()], Duration::from_millis(400)).await;
                (r, t0.elapsed())
            })
        })
        .unwrap();
    assert!(found.is_none(), "UDP is blocked: no srflx");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(700),
        "{took:?}"
    );
}

#[test]
fn probe_with_a_dead_relay_is_bounded_and_ranks_the_live_one_first() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Symmetric).unwrap() else {
        return;
    };
    let c = lab
        .start_coturn(CoturnConfig::new().user("alice", "secret"))
        .unwrap();
    let target = |uri: String| RelayTarget {
        uri: uri.parse::<TurnUri>().unwrap(),
        username: "alice".into(),
        password: "secret".into(),
    };
    let relays = vec![
        // A relay that does not exist on the public network (UDP and TCP both dead).
        target(format!("turn:{}:3999", lab.public_ip())),
        target(format!("turn:{}", c.addr())),
    ];
    let (report, took) = lab
        .client()
        .run(|| {
            rt().block_on(async {
                let t0 = Instant::now();
                let r = probe_relays(&relays, None, Duration::from_millis(800)).await;
                (r, t0.elapsed())
            })
        })
        .unwrap();
    assert_eq!(report.relays.len(), 4, "{report:#?}");
    assert_eq!(
        report.used.as_deref(),
        Some(format!("turn:{}", c.addr()).as_str()),
        "{report:#?}"
    );
    for r in &report.relays {
        assert_eq!(r.works, !r.uri.contains(":3999"), "{report:#?}");
    }
    // Every probe runs in parallel and each is bounded: the dead relay costs the limit once.
    assert!(took < Duration::from_millis(1200), "{took:?}");
}
