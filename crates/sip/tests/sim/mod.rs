//! A simulated network of user agents on simulated time: each UA is a TransactionLayer plus a
//! CallLayer; scripted nodes (a forking proxy, a redirect server …) just collect what reaches
//! them and send what the test tells them. Every message goes through the real receive path.
#![allow(clippy::unwrap_used, dead_code)] // test code: a panic is a test failure

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use homeline_sip::call::{CallConfig, CallEvent, CallLayer};
use homeline_sip::transaction::{
    Peer, TimerConfig, TransactionEvent, TransactionLayer, TransportKind,
};
use homeline_sip::{Inbound, receive_datagram};
use rsip::prelude::*;

pub const LATENCY: Duration = Duration::from_millis(30);

pub fn peer(addr: &str) -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: addr.parse::<SocketAddr>().unwrap(),
    }
}

pub struct Ua {
    pub layer: TransactionLayer,
    pub calls: CallLayer,
    /// (ms, event)
    pub events: Vec<(u64, CallEvent)>,
    /// Transaction events the call layer handed back.
    pub other: Vec<TransactionEvent>,
}

pub enum Node {
    Ua(Box<Ua>),
    /// Collects (ms, message, from).
    Script(Vec<(u64, rsip::SipMessage, SocketAddr)>),
    /// A stateless forking proxy (RFC 3261 §16.11): new INVITEs and CANCELs go to every
    /// target (same computed branch, so a CANCEL matches its INVITE), other requests to the
    /// node their Request-URI names; responses lose their top Via and follow the next one.
    /// With `record_route`, a new INVITE gets those Record-Route values on top (§16.6 step
    /// 4, e.g. a proxy that record-routes twice) and the proxy removes its own values from
    /// the Route of in-dialog requests (loose routing, §16.4).
    Proxy {
        targets: Vec<String>,
        record_route: Vec<String>,
    },
}

pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub nodes: BTreeMap<String, (Peer, Node)>,
    /// (arrival, from, to, bytes)
    flying: Vec<(Instant, String, String, Vec<u8>)>,
    /// (ms, from, to, summary, dropped)
    pub log: Vec<(u64, String, String, String, bool)>,
    /// (from, summary, how many to drop)
    pub drops: Vec<(String, String, u32)>,
    /// Every message sent, in full: (ms, from, to, message).
    pub wire: Vec<(u64, String, String, rsip::SipMessage)>,
}

pub fn summary(msg: &rsip::SipMessage) -> String {
    match msg {
        rsip::SipMessage::Request(r) => r.method.to_string(),
        rsip::SipMessage::Response(r) => {
            let m = r
                .cseq_header()
                .map(|c| c.value().split_whitespace().last().unwrap_or("").to_owned())
                .unwrap_or_default();
            format!("{} {m}", r.status_code.code())
        }
    }
}

impl Sim {
    pub fn new() -> Self {
        let t0 = Instant::now();
        Self {
            t0,
            now: t0,
            nodes: BTreeMap::new(),
            flying: Vec::new(),
            log: Vec::new(),
            drops: Vec::new(),
            wire: Vec::new(),
        }
    }

    pub fn config(name: &str, addr: &str) -> CallConfig {
        CallConfig::new(
            &format!("sip:{name}@example.com"),
            addr.parse().unwrap(),
            TransportKind::Udp,
        )
    }

    pub fn add_ua(&mut self, name: &str, addr: &str, config: CallConfig, seed: u64) {
        let ua = Ua {
            layer: TransactionLayer::new(TimerConfig::default()),
            calls: CallLayer::new(config, seed),
            events: Vec::new(),
            other: Vec::new(),
        };
        self.nodes
            .insert(name.into(), (peer(addr), Node::Ua(Box::new(ua))));
    }

    pub fn add_proxy(&mut self, name: &str, addr: &str, targets: &[&str]) {
        self.add_record_routing_proxy(name, addr, targets, &[]);
    }

    /// A proxy that inserts `record_route` (top first) into new INVITEs.
    pub fn add_record_routing_proxy(
        &mut self,
        name: &str,
        addr: &str,
        targets: &[&str],
        record_route: &[&str],
    ) {
        let targets = targets.iter().map(|t| (*t).to_owned()).collect();
        let record_route = record_route.iter().map(|t| (*t).to_owned()).collect();
        self.nodes.insert(
            name.into(),
            (
                peer(addr),
                Node::Proxy {
                    targets,
                    record_route,
                },
            ),
        );
    }

    pub fn add_script(&mut self, name: &str, addr: &str) {
        self.nodes
            .insert(name.into(), (peer(addr), Node::Script(Vec::new())));
    }

    pub fn ms(&self) -> u64 {
        (self.now - self.t0).as_millis() as u64
    }

    pub fn addr(&self, name: &str) -> Peer {
        self.nodes[name].0
    }

    pub fn ua(&mut self, name: &str) -> &mut Ua {
        match &mut self.nodes.get_mut(name).unwrap().1 {
            Node::Ua(u) => u,
            _ => panic!("{name} is not a UA"),
        }
    }

    /// Runs an operation on a UA's call layer at the current time.
    pub fn act<R>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut CallLayer, &mut TransactionLayer, Instant) -> R,
    ) -> R {
        let now = self.now;
        let ua = self.ua(name);
        let r = f(&mut ua.calls, &mut ua.layer, now);
        self.pump();
        r
    }

    pub fn inbox(&mut self, name: &str) -> &mut Vec<(u64, rsip::SipMessage, SocketAddr)> {
        match &mut self.nodes.get_mut(name).unwrap().1 {
            Node::Script(v) => v,
            _ => panic!("{name} is not scripted"),
        }
    }

    fn name_of(&self, addr: SocketAddr) -> String {
        self.nodes
            .iter()
            .find(|(_, (p, _))| p.addr == addr)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| addr.to_string())
    }

    /// Sends a message from node `from` to `to` (scripted nodes use this).
    pub fn send(&mut self, from: &str, to: &str, msg: &rsip::SipMessage) {
        let what = summary(msg);
        let ms = self.ms();
        let drop = self
            .drops
            .iter_mut()
            .find(|(f, s, n)| f == from && *s == what && *n > 0)
            .map(|d| d.2 -= 1)
            .is_some();
        self.log
            .push((ms, from.to_owned(), to.to_owned(), what, drop));
        self.wire
            .push((ms, from.to_owned(), to.to_owned(), msg.clone()));
        if !drop {
            let bytes = homeline_sip::message::serialize(msg);
            self.flying
                .push((self.now + LATENCY, from.to_owned(), to.to_owned(), bytes));
        }
    }

    /// Drains every UA until nothing moves.
    pub fn pump(&mut self) {
        for guard in 0.. {
            assert!(guard < 10_000, "pump stuck at {} ms", self.ms());
            let mut moved = false;
            let names: Vec<String> = self.nodes.keys().cloned().collect();
            for name in names {
                let now = self.now;
                let ms = self.ms();
                let mut out = Vec::new();
                if let Node::Ua(ua) = &mut self.nodes.get_mut(&name).unwrap().1 {
                    while let Some(ev) = ua.layer.poll_event() {
                        moved = true;
                        if let Some(rest) =
                            ua.calls.handle_transaction_event(now, &mut ua.layer, ev)
                        {
                            ua.other.push(rest);
                        }
                    }
                    while let Some(t) = ua.layer.poll_transmit() {
                        moved = true;
                        out.push(t);
                    }
                    while let Some(e) = ua.calls.poll_event() {
                        moved = true;
                        ua.events.push((ms, e));
                    }
                }
                for t in out {
                    let to = self.name_of(t.peer.addr);
                    self.send(&name, &to, &t.message);
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn next_time(&self) -> Option<Instant> {
        let mut times: Vec<Instant> = self.flying.iter().map(|f| f.0).collect();
        for (_, node) in self.nodes.values() {
            if let Node::Ua(ua) = node {
                times.extend(ua.layer.poll_timeout());
                times.extend(ua.calls.poll_timeout());
            }
        }
        times.into_iter().min()
    }

    /// Runs the network and every timer up to `ms` after the start (inclusive).
    pub fn run_until(&mut self, ms: u64) {
        let deadline = self.t0 + Duration::from_millis(ms);
        self.pump();
        for guard in 0.. {
            assert!(guard < 1_000_000, "simulation stuck at {} ms", self.ms());
            match self.next_time() {
                Some(t) if t <= deadline => self.step(t.max(self.now)),
                _ => break,
            }
        }
        self.now = self.now.max(deadline);
        self.pump();
    }

    fn step(&mut self, now: Instant) {
        self.now = now;
        let ms = self.ms();
        let (due, later): (Vec<_>, Vec<_>) = self.flying.drain(..).partition(|f| f.0 <= now);
        self.flying = later;
        for (_, from, to, bytes) in due {
            let msg: rsip::SipMessage = match receive_datagram(&bytes) {
                Inbound::Request(r) => r.into(),
                Inbound::Response(r) => r.into(),
                other => panic!("undeliverable {other:?}"),
            };
            let from_peer = self.nodes[&from].0;
            match &mut self.nodes.get_mut(&to).unwrap().1 {
                Node::Ua(ua) => ua.layer.handle_message(now, msg, from_peer),
                Node::Script(inbox) => inbox.push((ms, msg, from_peer.addr)),
                Node::Proxy {
                    targets,
                    record_route,
                } => {
                    let (targets, rr) = (targets.clone(), record_route.clone());
                    self.proxy(&to, &targets, &rr, msg);
                }
            }
        }
        for (_, node) in self.nodes.values_mut() {
            if let Node::Ua(ua) = node {
                ua.layer.handle_timeout(now);
                ua.calls.handle_timeout(now, &mut ua.layer);
            }
        }
        self.pump();
    }

    fn proxy(
        &mut self,
        me: &str,
        targets: &[String],
        record_route: &[String],
        msg: rsip::SipMessage,
    ) {
        let my_addr = self.nodes[me].0.addr;
        match msg {
            rsip::SipMessage::Request(req) => {
                let has_to_tag = req
                    .to_header()
                    .is_ok_and(|t| homeline_sip::message::header_param(t.value(), "tag").is_some());
                let branch = req
                    .via_header()
                    .ok()
                    .and_then(|v| {
                        homeline_sip::message::header_param(v.value(), "branch").map(str::to_owned)
                    })
                    .unwrap_or_default();
                let fork = req.method == rsip::Method::Cancel
                    || (req.method == rsip::Method::Invite && !has_to_tag);
                let dests: Vec<(usize, String)> = if fork {
                    targets.iter().cloned().enumerate().collect()
                } else {
                    let host = req.uri.host_with_port.to_string();
                    let to = self
                        .nodes
                        .iter()
                        .find(|(_, (p, _))| p.addr.to_string() == host)
                        .map(|(n, _)| n.clone())
                        .unwrap_or_else(|| panic!("proxy: no node for {host}"));
                    vec![(9, to)]
                };
                for (idx, to) in dests {
                    let mut fwd = req.clone();
                    let via = format!(
                        "SIP/2.0/UDP {my_addr};branch=z9hG4bKpx{idx}{}",
                        branch.trim_start_matches("z9hG4bK")
                    );
                    let mut all: Vec<rsip::Header> = fwd
                        .headers
                        .iter()
                        .filter(|h| {
                            !matches!(h, rsip::Header::Route(r) if record_route.iter().any(|v| v == r.value()))
                        })
                        .cloned()
                        .collect();
                    all.insert(0, rsip::headers::Via::new(via).into());
                    if fork && req.method == rsip::Method::Invite {
                        for (i, v) in record_route.iter().enumerate() {
                            all.insert(1 + i, rsip::headers::RecordRoute::new(v.clone()).into());
                        }
                    }
                    fwd.headers = all.into();
                    self.send(me, &to, &fwd.into());
                }
            }
            rsip::SipMessage::Response(mut resp) => {
                let mut all: Vec<rsip::Header> = resp.headers.iter().cloned().collect();
                if let Some(i) = all.iter().position(|h| matches!(h, rsip::Header::Via(_))) {
                    all.remove(i);
                }
                resp.headers = all.into();
                let via = resp.via_header().unwrap().value().to_owned();
                let sent_by = via
                    .split_whitespace()
                    .nth(1)
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .to_owned();
                let to = self
                    .nodes
                    .iter()
                    .find(|(_, (p, _))| p.addr.to_string() == sent_by)
                    .map(|(n, _)| n.clone())
                    .unwrap();
                self.send(me, &to, &resp.into());
            }
        }
    }

    /// The log as "ms from>to WHAT" lines (dropped ones marked " (lost)").
    pub fn lines(&self) -> Vec<String> {
        self.log
            .iter()
            .map(|(ms, f, t, w, d)| format!("{ms} {f}>{t} {w}{}", if *d { " (lost)" } else { "" }))
            .collect()
    }

    /// Log lines that mention `what` (e.g. "INVITE", "200 INVITE").
    pub fn lines_with(&self, what: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| {
                l.split_once(' ').is_some_and(|(_, r)| {
                    r.split_once(' ').is_some_and(|(_, w)| w.starts_with(what))
                })
            })
            .collect()
    }

    pub fn events(&mut self, name: &str) -> Vec<(u64, CallEvent)> {
        self.ua(name).events.clone()
    }

    pub fn take_events(&mut self, name: &str) -> Vec<(u64, CallEvent)> {
        std::mem::take(&mut self.ua(name).events)
    }
}

/// The values of every header called `name` (case-insensitive) of a message, in order.
pub fn header_values(msg: &rsip::SipMessage, name: &str) -> Vec<String> {
    let text = String::from_utf8(homeline_sip::message::serialize(msg)).unwrap();
    text.split("\r\n\r\n")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

pub fn parse(text: &str) -> rsip::SipMessage {
    match receive_datagram(text.as_bytes()) {
        Inbound::Request(r) => r.into(),
        Inbound::Response(r) => r.into(),
        other => panic!("{other:?}"),
    }
}
