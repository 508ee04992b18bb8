//! sipp's RTP echo UAS, called from a plain UDP socket behind the NAT: the
//! INVITE/200/ACK sets up the call, RTP sent to the media address of the
//! 200's SDP comes back byte for byte. Needs root and sipp; prints
//! `skipped: …` otherwise.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use homeline_lab::{Lab, RouterProfile, SippConfig};

fn recv_sip(sock: &UdpSocket) -> String {
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = [0u8; 65535];
    let (n, _) = sock.recv_from(&mut buf).expect("no SIP message");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// An RTP packet (RFC 3550 §5.1): version 2, PCMU (PT 0), 160 bytes.
fn rtp(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&0x4C41_4221u32.to_be_bytes());
    p.extend((0..160u16).map(|i| (i as u8) ^ (seq as u8)));
    p
}

#[test]
fn sipp_uas_echoes_rtp_sent_after_the_invite_through_the_nat() {
    if homeline_lab::skip_unless_installed(&["sipp"]) {
        return;
    }
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let mut sipp = lab.start_sipp(SippConfig::uas_echo().calls(1)).unwrap();
    let sip = lab
        .client()
        .udp_socket(SocketAddr::new(lab.client_ip(), 5064))
        .unwrap();
    let media = lab
        .client()
        .udp_socket(SocketAddr::new(lab.client_ip(), 40000))
        .unwrap();
    let local = sip.local_addr().unwrap();
    let uas = sipp.sip_addr();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        ip = lab.client_ip()
    );
    let common = |method: &str, cseq: u32, branch: &str| {
        format!(
            "Via: SIP/2.0/UDP {local};branch=z9hG4bK-{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:lab@{local}>;tag=lab1\r\n\
             To: <sip:service@{uas}>{{to_tag}}\r\n\
             Call-ID: echo-1@{local}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:lab@{local}>\r\n"
        )
    };
    let invite = format!(
        "INVITE sip:service@{uas} SIP/2.0\r\n{}Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        common("INVITE", 1, "inv").replace("{to_tag}", ""),
        sdp.len()
    );
    sip.send_to(invite.as_bytes(), uas).unwrap();
    let ok = loop {
        let m = recv_sip(&sip);
        if m.starts_with("SIP/2.0 200") {
            break m;
        }
        assert!(
            m.starts_with("SIP/2.0 1"),
            "{m}\nsipp errors: {}",
            sipp.errors()
        );
    };
    // The 200's SDP names sipp's echo port.
    let c = ok
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .unwrap()
        .trim();
    let port: u16 = ok
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let echo_addr = SocketAddr::new(c.parse::<IpAddr>().unwrap(), port);
    assert_eq!(echo_addr, sipp.media_addr(), "{ok}");
    let to_tag = header(&ok, "To")
        .and_then(|t| t.split_once(";tag="))
        .map(|(_, t)| format!(";tag={t}"))
        .unwrap();
    let ack = format!(
        "ACK sip:service@{uas} SIP/2.0\r\n{}Content-Length: 0\r\n\r\n",
        common("ACK", 1, "ack").replace("{to_tag}", &to_tag)
    );
    sip.send_to(ack.as_bytes(), uas).unwrap();

    // Five packets of PCMU, each echoed back unchanged by sipp's address.
    media
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 1500];
    for seq in 1..=5u16 {
        let pkt = rtp(seq);
        media.send_to(&pkt, echo_addr).unwrap();
        let (n, from) = media
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("RTP {seq} not echoed: {e}\nsipp: {}", sipp.log()));
        assert_eq!(from, echo_addr);
        assert_eq!(&buf[..n], &pkt[..], "packet {seq} came back changed");
    }

    let bye = format!(
        "BYE sip:service@{uas} SIP/2.0\r\n{}Content-Length: 0\r\n\r\n",
        common("BYE", 2, "bye").replace("{to_tag}", &to_tag)
    );
    sip.send_to(bye.as_bytes(), uas).unwrap();
    let r = recv_sip(&sip);
    assert!(r.starts_with("SIP/2.0 200"), "{r}");
    // sipp ran its scenario to the end (it waits 4 s after the BYE).
    let status = sipp.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(
        status.success(),
        "sipp: {status}\n{}\n{}",
        sipp.log(),
        sipp.errors()
    );
    assert!(sipp.messages().contains("INVITE sip:service@"));
}
