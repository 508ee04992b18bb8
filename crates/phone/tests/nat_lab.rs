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

/// Data both ways through coturn from behind a symmetric NAT, over each transport: the
/// permission, the Send indication, the ChannelBind and ChannelData, and Data/ChannelData from
/// the peer, against the real server.
#[test]
fn relay_link_carries_data_both_ways_over_udp_tcp_and_tls() {
    use homeline_phone::nat::link::RelayLink;
    let Some(lab) = Lab::start_or_skip(RouterProfile::Symmetric).unwrap() else {
        return;
    };
    let c = lab
        .start_coturn(CoturnConfig::new().user("alice", "secret").tls(443))
        .unwrap();
    let ca = c.tls_files().unwrap().ca.clone();
    let ip = lab.public_ip();
    let public_ip = lab.public_ip();
    let peer = lab
        .public()
        .run(move || std::net::UdpSocket::bind((public_ip, 0)).unwrap())
        .unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let peer_addr = peer.local_addr().unwrap();
    for uri in [
        format!("turn:{ip}:3478"),
        format!("turn:{ip}:3478?transport=tcp"),
        format!("turns:{ip}:443?transport=tcp"),
    ] {
        let target = RelayTarget {
            uri: uri.parse::<TurnUri>().unwrap(),
            username: "alice".into(),
            password: "secret".into(),
        };
        let tls = homeline_phone::sip::tls::client_config(Some(&ca)).unwrap();
        let peer = &peer;
        lab.client()
            .run(|| {
                rt().block_on(async {
                    let mut link = RelayLink::open(&target, tls, Duration::from_secs(2))
                        .await
                        .unwrap_or_else(|e| panic!("{uri}: {e}"));
                    link.permit(peer_addr);
                    let relayed = link.relayed();
                    // Peer → client, until the permission is in (a few ms).
                    let mut got = None;
                    for i in 0..40u8 {
                        peer.send_to(&[b'p', i], relayed).unwrap();
                        if let Ok(Some(r)) =
                            tokio::time::timeout(Duration::from_millis(50), link.recv()).await
                        {
                            got = Some(r);
                            break;
                        }
                    }
                    let (from, data) = got.unwrap_or_else(|| panic!("{uri}: nothing relayed"));
                    assert_eq!(from, peer_addr, "{uri}");
                    assert_eq!(data[0], b'p', "{uri}");
                    // Client → peer: the first as a Send indication, later as ChannelData.
                    let mut seen = 0;
                    for i in 0..5u8 {
                        link.send_to(peer_addr, &[b'c', i]);
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        let peer = peer.try_clone().unwrap();
                        let r = tokio::task::spawn_blocking(move || {
                            let mut b = [0u8; 64];
                            peer.recv_from(&mut b).map(|(n, a)| (b[..n].to_vec(), a))
                        })
                        .await
                        .unwrap();
                        if let Ok((d, a)) = r {
                            assert_eq!(a, relayed, "{uri}: from the relayed address");
                            assert_eq!(d, vec![b'c', i], "{uri}");
                            seen += 1;
                        }
                    }
                    assert!(seen >= 4, "{uri}: {seen} of 5 reached the peer");
                    // And back again after the channel is bound.
                    peer.send_to(b"late", relayed).unwrap();
                    let (_, d) = tokio::time::timeout(Duration::from_secs(1), link.recv())
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(d, b"late", "{uri}");
                })
            })
            .unwrap();
    }
}
