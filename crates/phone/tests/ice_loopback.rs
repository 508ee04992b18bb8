//! Two ICE drivers in one process over real UDP sockets on loopback: they select a pair and
//! carry datagrams both ways. Deadline 10 s; takes well under a second.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use homeline_nat::ice::{IceAgent, IceConfig, IceEvent, LocalCandidate, RouteKind};
use homeline_phone::ice::IceDriver;
use tokio::net::UdpSocket;

async fn side(controlling: bool) -> (IceAgent, Arc<UdpSocket>) {
    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let now = tokio::time::Instant::now().into_std();
    let mut agent = IceAgent::new(
        now,
        IceConfig {
            controlling,
            ..Default::default()
        },
    )
    .unwrap();
    agent
        .add_local_candidate(LocalCandidate::host(7, sock.local_addr().unwrap()))
        .unwrap();
    (agent, sock)
}

async fn selected(d: &mut IceDriver) -> homeline_nat::ice::SelectedPair {
    loop {
        match d.next_event().await.expect("driver alive") {
            IceEvent::Selected(p) => return p,
            IceEvent::Failed | IceEvent::ConsentLost => panic!("ICE failed"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn two_drivers_select_a_pair_and_carry_media() {
    let started = std::time::Instant::now();
    let (a, sa) = side(true).await;
    let (b, sb) = side(false).await;
    let (da, db) = (a.local_description(), b.local_description());
    let (addr_a, addr_b) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    let mut a = IceDriver::spawn(a, vec![(7, sa)]);
    let mut b = IceDriver::spawn(b, vec![(7, sb)]);
    a.set_remote(db, true);
    b.set_remote(da, false);
    let deadline = Duration::from_secs(10);
    let (pa, pb) = tokio::time::timeout(deadline, async {
        (selected(&mut a).await, selected(&mut b).await)
    })
    .await
    .expect("both select a pair within 10 s");
    eprintln!(
        "loopback: both selected after {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!((pa.route, pb.route), (RouteKind::Host, RouteKind::Host));
    assert_eq!((pa.destination, pb.destination), (addr_b, addr_a));

    let rtp = |n: u8| vec![0x80, 0x6f, 0, n, 0, 0, 0, 160, 1, 2, 3, 4, n];
    a.send_media(rtp(1));
    b.send_media(rtp(2));
    let (got_b, got_a) = tokio::time::timeout(deadline, async {
        (b.recv_media().await.unwrap(), a.recv_media().await.unwrap())
    })
    .await
    .expect("media both ways within 10 s");
    assert_eq!(got_b, (addr_a, rtp(1)));
    assert_eq!(got_a, (addr_b, rtp(2)));
}
