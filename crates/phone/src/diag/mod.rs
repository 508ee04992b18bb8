//! The connectivity test's runtime: the probes on real sockets, each under a deadline, fed to
//! `homeline-diag`'s decisions; and the safe fixes written to the configuration.
//!
//! ```text
//! run():  dns ──► in parallel: RFC 5780 discovery (mapping socket + filtering socket)
//!                              OPTIONS matrix (UDP/TCP/TLS × ports, 3.5 s each)
//!                              quality: 250 STUN packets, 20 ms apart, from an RTP-like socket
//!                              relays: the relay hook (TURN, see [`RelayHook`])
//!         each check is emitted as soon as its inputs are in  → quick verdict (< 8 s)
//!         then (background) the binding lifetime (≤ 4 min)    → nat_timeout, final report
//! ```

mod app;
mod fixes;
mod net;
mod relays;

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use homeline_diag::checks::{self, LifetimeResult};
use homeline_diag::probes::{
    AudioProbe, DnsLookup, DnsPurpose, RelayProbe, RtpOutcome, StunOutcome, StunProbe,
};
use homeline_diag::{Check, CheckId, Report, SipTransport, Status};
use homeline_nat::behaviour::{
    BehaviourReport, BindingResult, Discovery, LifetimeOutcome, LifetimeProbe, Timing,
    default_idle_times,
};
use homeline_sip::transaction::TransportKind;

pub use app::{DiagRunRecord, ExportedReport, HISTORY_LEN, report_text};
pub use fixes::{apply_fixes, undo_fixes};
/// The report's types (checks, statuses, fixes, verdicts), for the CLI and the app.
pub use homeline_diag as model;
pub use relays::relay_hook;

use crate::api::Transport;
use crate::config::{AccountConfig, Config};
use crate::sip::resolve::{self, HickoryDns, ServerUri};

/// Tests the configured relays (TURN over UDP/TCP/TLS): [`relay_hook`] builds it on the NAT
/// traversal's relay probe; `None` from the hook means "no relay configured".
pub type RelayHook = Arc<dyn Fn(&Config) -> Option<BoxFuture<'static, RelayProbe>> + Send + Sync>;

/// How to run the test.
#[derive(Clone, Default)]
pub struct DiagOptions {
    /// The account to test (id or display name); default: the first with a registrar.
    pub account: Option<String>,
    /// Measure the NAT binding lifetime after the quick verdict (up to 4 minutes).
    pub background: bool,
    /// Quality probe packets (20 ms apart); 0 means the default 250 (5 s).
    pub quality_packets: u32,
    /// The relay test; `None`: relays are reported as not configured.
    pub relay_hook: Option<RelayHook>,
}

impl std::fmt::Debug for DiagOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagOptions")
            .field("account", &self.account)
            .field("background", &self.background)
            .field("quality_packets", &self.quality_packets)
            .field("relay_hook", &self.relay_hook.is_some())
            .finish()
    }
}

/// Progress of a run (the app's `diag://progress` event, the CLI's lines).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiagEvent {
    /// These checks are running.
    Running {
        /// Their ids.
        checks: Vec<CheckId>,
    },
    /// A check finished.
    Check {
        /// The result.
        check: Check,
    },
    /// The quick verdict (everything but the background lifetime measurement).
    Verdict {
        /// The report so far.
        report: Report,
    },
    /// The whole test ended.
    Finished {
        /// The final report.
        report: Report,
    },
}

/// Quick-round probe deadlines.
const DNS_LIMIT: Duration = Duration::from_secs(3);
const OPTIONS_LIMIT: Duration = Duration::from_millis(3500);
const DISCOVERY_LIMIT: Duration = Duration::from_secs(7);
/// The lifetime probe's hard deadline (the probe itself ends by ~236 s).
const LIFETIME_LIMIT: Duration = Duration::from_secs(245);

/// A `stun:host[:port]` URI (RFC 7064), parsed minimally.
fn parse_stun_uri(uri: &str) -> Option<(String, u16)> {
    let rest = uri.trim().strip_prefix("stun:")?;
    let rest = rest.split('?').next()?;
    if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => 3478,
        };
        return Some((host.to_owned(), port));
    }
    match rest.rsplit_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None if !rest.is_empty() => Some((rest.to_owned(), 3478)),
        None => None,
    }
}

/// Picks the account: by id or display name, else the first with a registrar.
fn pick_account<'a>(
    config: &'a Config,
    name: Option<&str>,
) -> Result<Option<&'a AccountConfig>, String> {
    match name {
        Some(n) => config
            .accounts
            .iter()
            .find(|a| a.id == n)
            .or_else(|| {
                config
                    .accounts
                    .iter()
                    .find(|a| a.display_name.eq_ignore_ascii_case(n))
            })
            .map(Some)
            .ok_or_else(|| format!("there is no account {n:?}")),
        None => Ok(config
            .accounts
            .iter()
            .find(|a| !a.registrar.is_empty())
            .or(config.accounts.first())),
    }
}

fn sip_transport(t: TransportKind) -> SipTransport {
    match t {
        TransportKind::Tcp => SipTransport::Tcp,
        TransportKind::Tls => SipTransport::Tls,
        TransportKind::Wss | TransportKind::Ws => SipTransport::Wss,
        _ => SipTransport::Udp,
    }
}

fn wanted(t: Transport) -> Option<TransportKind> {
    match t {
        Transport::Auto => None,
        Transport::Udp => Some(TransportKind::Udp),
        Transport::Tcp => Some(TransportKind::Tcp),
        Transport::Tls => Some(TransportKind::Tls),
        Transport::Ws => Some(TransportKind::Ws),
        Transport::Wss => Some(TransportKind::Wss),
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What the SIP server is and how the account reaches it.
struct SipServer {
    host: String,
    configured: (SipTransport, SocketAddr),
    extra_ports: Vec<(SipTransport, u16)>,
}

async fn resolve_sip(account: &AccountConfig) -> (Option<DnsLookup>, Result<SipServer, String>) {
    let uri_text = if account.registrar.is_empty() {
        return (
            None,
            Err("this account has no server (direct calls only)".into()),
        );
    } else {
        account.registrar.clone()
    };
    let uri = match ServerUri::parse(&uri_text) {
        Ok(u) => u,
        Err(e) => return (None, Err(e.to_string())),
    };
    let literal = uri.host.parse::<std::net::IpAddr>().is_ok();
    let start = Instant::now();
    let dns = match HickoryDns::from_system() {
        Ok(d) => d,
        Err(e) => {
            return (
                None,
                Err(format!("the name service could not be used: {e}")),
            );
        }
    };
    let located = tokio::time::timeout(
        DNS_LIMIT,
        resolve::locate(&dns, &uri, wanted(account.transport)),
    )
    .await;
    let located = match located {
        Ok(Ok(t)) if !t.is_empty() => Ok(t),
        Ok(Ok(_)) => Err("no address records".to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", DNS_LIMIT.as_secs())),
    };
    let lookup = (!literal).then(|| DnsLookup {
        name: uri.host.clone(),
        purpose: DnsPurpose::Sip,
        result: located
            .as_ref()
            .map(|t| t.iter().map(|t| t.addr).collect())
            .map_err(Clone::clone),
        elapsed_ms: ms(start.elapsed()),
    });
    let server = located.map(|targets| {
        let first = &targets[0];
        SipServer {
            host: first.host.clone(),
            configured: (sip_transport(first.transport), first.addr),
            extra_ports: targets
                .iter()
                .skip(1)
                .filter(|t| t.addr.ip() == first.addr.ip())
                .map(|t| (sip_transport(t.transport), t.addr.port()))
                .collect(),
        }
    });
    (lookup, server)
}

async fn resolve_stun(uris: &[String]) -> (Vec<DnsLookup>, Vec<(String, Option<SocketAddr>)>) {
    let mut lookups = Vec::new();
    let mut servers = Vec::new();
    for uri in uris {
        let Some((host, port)) = parse_stun_uri(uri) else {
            servers.push((uri.clone(), None));
            continue;
        };
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            servers.push((uri.clone(), Some(SocketAddr::new(ip, port))));
            continue;
        }
        let start = Instant::now();
        let r =
            tokio::time::timeout(DNS_LIMIT, tokio::net::lookup_host((host.clone(), port))).await;
        let result: Result<Vec<SocketAddr>, String> = match r {
            Ok(Ok(a)) => {
                let v: Vec<SocketAddr> = a.filter(SocketAddr::is_ipv4).collect();
                if v.is_empty() {
                    Err("no IPv4 address".into())
                } else {
                    Ok(v)
                }
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", DNS_LIMIT.as_secs())),
        };
        servers.push((
            uri.clone(),
            result.as_ref().ok().and_then(|v| v.first().copied()),
        ));
        lookups.push(DnsLookup {
            name: host,
            purpose: DnsPurpose::Stun,
            result,
            elapsed_ms: ms(start.elapsed()),
        });
    }
    (lookups, servers)
}

fn cells_for(server: &SipServer) -> Vec<net::Cell> {
    let ip = server.configured.1.ip();
    let mut list = vec![(server.configured.0, server.configured.1.port())];
    list.extend(server.extra_ports.iter().copied());
    // The alternatives providers commonly offer (DESIGN.md: 5060/6060/8080, TCP, TLS 443).
    list.extend([
        (SipTransport::Udp, 5060),
        (SipTransport::Tcp, 5060),
        (SipTransport::Udp, 6060),
        (SipTransport::Udp, 8080),
        (SipTransport::Tls, 5061),
        (SipTransport::Tls, 443),
    ]);
    let mut seen = Vec::new();
    list.retain(|c| {
        let fresh = !seen.contains(c);
        seen.push(*c);
        fresh
    });
    list.into_iter()
        .map(|(transport, port)| net::Cell {
            transport,
            host: server.host.clone(),
            addr: SocketAddr::new(ip, port),
        })
        .collect()
}

fn stun_outcome(r: &Option<BindingResult>) -> StunOutcome {
    match r {
        Some(BindingResult::Answered { mapped, rtt_ms, .. }) => StunOutcome::Mapped {
            mapped: *mapped,
            rtt_ms: *rtt_ms,
        },
        Some(BindingResult::Garbage { why }) => StunOutcome::Garbage { why: why.clone() },
        Some(BindingResult::Error { code, reason }) => StunOutcome::Garbage {
            why: format!("error {code} {reason}"),
        },
        Some(BindingResult::NoAnswer) | None => StunOutcome::NoAnswer,
    }
}

fn audio_probe() -> AudioProbe {
    let d = crate::list_audio_devices();
    let pick = |list: &[crate::AudioDevice]| {
        list.iter()
            .find(|x| x.is_default)
            .or(list.first())
            .map(|x| x.name.clone())
    };
    let err = d.error.as_ref().map(|e| e.message.clone());
    AudioProbe {
        microphone: pick(&d.inputs)
            .map(|n| (n, None))
            .ok_or_else(|| err.clone().unwrap_or_else(|| "none was found".into())),
        speaker: pick(&d.outputs).ok_or_else(|| err.unwrap_or_else(|| "none was found".into())),
    }
}

/// The state of a run, to emit each check once its inputs are in.
#[derive(Default)]
struct Inputs {
    stun: Vec<(String, Option<SocketAddr>)>,
    discovery: Option<(Option<BehaviourReport>, Vec<StunProbe>)>,
    options: Option<Vec<net::CellResult>>,
    quality: Option<Vec<homeline_diag::quality::Sample>>,
    relays: Option<RelayProbe>,
    configured: Option<(SipTransport, u16)>,
    sip_skip: Option<String>,
    done: Vec<Check>,
}

impl Inputs {
    fn emitted(&self, id: CheckId) -> bool {
        self.done.iter().any(|c| c.id == id)
    }

    fn alg(&self) -> Option<Check> {
        self.done.iter().find(|c| c.id == CheckId::SipAlg).cloned()
    }

    /// Decides the checks whose inputs are all in.
    fn ready(&mut self, force_relay: bool) -> Vec<Check> {
        let mut new = Vec::new();
        let relay_works = self.relays.as_ref().is_some_and(|r| r.best().is_some());
        let public = self
            .discovery
            .as_ref()
            .and_then(|(b, _)| b.as_ref().and_then(|b| b.mapped));
        if !self.emitted(CheckId::SipPorts) {
            if let Some(reason) = &self.sip_skip {
                new.push(Check::skipped(
                    CheckId::SipPorts,
                    format!("The connection to your phone provider was not tested: {reason}."),
                ));
            } else if let (Some(o), Some(conf)) = (&self.options, self.configured) {
                let matrix: Vec<_> = o.iter().map(|c| c.probe.clone()).collect();
                new.push(checks::sip_ports(&matrix, conf));
            }
        }
        if !self.emitted(CheckId::Udp)
            && let Some((_, stun)) = &self.discovery
            && (self.options.is_some() || self.sip_skip.is_some())
            && self.relays.is_some()
        {
            let sip_udp = self.options.as_ref().and_then(|o| {
                let udp: Vec<_> = o
                    .iter()
                    .filter(|c| c.probe.transport == SipTransport::Udp)
                    .collect();
                (!udp.is_empty()).then(|| udp.iter().any(|c| c.probe.outcome.works()))
            });
            new.push(checks::udp(stun, sip_udp, relay_works));
        }
        if !self.emitted(CheckId::Relays)
            && let Some(r) = &self.relays
        {
            new.push(checks::relays(r));
        }
        if !self.emitted(CheckId::NatType)
            && let Some((b, _)) = &self.discovery
            && self.relays.is_some()
        {
            let c = if self.stun.is_empty() {
                checks::nat_type(None, relay_works, force_relay)
            } else {
                checks::nat_type(b.as_ref(), relay_works, force_relay)
            };
            new.push(c);
        }
        if !self.emitted(CheckId::SipAlg) && self.discovery.is_some() {
            if let Some(reason) = &self.sip_skip {
                new.push(
                    Check::skipped(
                        CheckId::SipAlg,
                        format!("Router meddling with calls was not tested: {reason}."),
                    )
                    .with_details(serde_json::json!({ "detected": null })),
                );
            } else if let Some(o) = &self.options {
                let echoes: Vec<_> = o.iter().filter_map(|c| c.echo.clone()).collect();
                new.push(checks::sip_alg(&echoes, public));
            }
        }
        if let Some(samples) = &self.quality
            && self.relays.is_some()
        {
            if !self.emitted(CheckId::Rtp) {
                let answered: Vec<f64> = samples
                    .iter()
                    .filter_map(|s| s.received_ms.map(|r| r - s.sent_ms))
                    .collect();
                let path = "from a call's audio socket to the STUN server".to_string();
                let outcome = if self.stun.iter().all(|(_, a)| a.is_none()) {
                    RtpOutcome::NotTested {
                        why: "no STUN server is configured to send test packets to".into(),
                    }
                } else if answered.is_empty() {
                    RtpOutcome::NoAnswer { path }
                } else {
                    let mut a = answered.clone();
                    a.sort_by(f64::total_cmp);
                    RtpOutcome::BothWays {
                        path,
                        rtt_ms: a[a.len() / 2].round() as u64,
                    }
                };
                new.push(checks::rtp(&outcome, relay_works));
            }
            if !self.emitted(CheckId::Quality) {
                new.push(homeline_diag::quality::check(
                    samples,
                    "20 ms STUN packets from a call's audio socket to the STUN server",
                ));
            }
        }
        let mut all = std::mem::take(&mut self.done);
        all.extend(new.iter().cloned());
        self.done = all;
        if !self.emitted(CheckId::Route)
            && self.discovery.is_some()
            && (self.options.is_some() || self.sip_skip.is_some())
            && self.relays.is_some()
        {
            let alg = self
                .alg()
                .is_some_and(|c| c.details["detected"] == serde_json::Value::Bool(true));
            // The server's view from an answer nothing rewrote (a `received` that is not our
            // own address), else from any answer.
            let echoes: Vec<_> = self
                .options
                .iter()
                .flatten()
                .filter_map(|c| c.echo.as_ref())
                .collect();
            let clean = echoes
                .iter()
                .find_map(|e| e.received.filter(|r| *r != e.sent_by.ip()));
            let sip_seen = clean.or_else(|| {
                echoes
                    .iter()
                    .find(|e| e.transport == SipTransport::Udp)
                    .map(|e| e.received.unwrap_or(e.sent_by.ip()))
            });
            let alg = alg && clean.is_none();
            let relay_seen = self
                .relays
                .as_ref()
                .and_then(|r| r.best().and_then(|b| b.mapped));
            let c = checks::route(public, sip_seen, relay_seen, alg);
            self.done.push(c.clone());
            new.push(c);
        }
        new
    }
}

/// The outcome of a run: the report and what the background measurement needs.
#[derive(Debug)]
pub struct DiagRun {
    /// The report.
    pub report: Report,
    /// The account tested (id).
    pub account_id: Option<String>,
}

/// Runs the connectivity test. `progress` gets every event as it happens; the result is the
/// final report (with `nat_timeout` measured when `opts.background`).
pub async fn run(
    config: &Config,
    opts: &DiagOptions,
    progress: &mut (dyn FnMut(DiagEvent) + Send),
) -> Result<DiagRun, String> {
    let started = Instant::now();
    let account = pick_account(config, opts.account.as_deref())?;
    progress(DiagEvent::Running {
        checks: CheckId::ALL.to_vec(),
    });
    let mut inputs = Inputs::default();
    let emit = |c: Check, inputs: &mut Inputs, progress: &mut (dyn FnMut(DiagEvent) + Send)| {
        if !inputs.emitted(c.id) {
            inputs.done.push(c.clone());
        }
        progress(DiagEvent::Check { check: c });
    };

    // Sound devices: listing them takes a moment on some systems; off the async threads.
    let audio = tokio::task::spawn_blocking(audio_probe);

    // Names first: everything else needs addresses.
    let (sip_lookup, server) = match account {
        Some(a) => resolve_sip(a).await,
        None => (None, Err("there is no account".into())),
    };
    let (mut lookups, stun) = resolve_stun(&config.network.stun_servers).await;
    lookups.extend(sip_lookup);
    emit(checks::dns(&lookups), &mut inputs, progress);
    inputs.stun = stun.clone();

    let stun_addrs: Vec<SocketAddr> = stun.iter().filter_map(|(_, a)| *a).collect();
    let stun_failed: Vec<StunProbe> = stun
        .iter()
        .filter(|(_, a)| a.is_none())
        .map(|(uri, _)| StunProbe {
            server: uri.clone(),
            outcome: StunOutcome::Failed {
                why: "its name or address is not usable".into(),
            },
        })
        .collect();
    match &server {
        Ok(s) => inputs.configured = Some((s.configured.0, s.configured.1.port())),
        Err(e) => inputs.sip_skip = Some(e.clone()),
    }

    // The parallel round.
    let discovery_f = async {
        if stun_addrs.is_empty() {
            return (None, Vec::new());
        }
        let (sock, local) = match net::bind_like_rtp(stun_addrs[0]).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("diagnostics: no UDP socket: {e}");
                return (None, Vec::new());
            }
        };
        let mut d = Discovery::new(Instant::now(), stun_addrs.clone(), local, Timing::default());
        net::drive(&mut d, Some(sock), Instant::now() + DISCOVERY_LIMIT).await;
        let per_server: Vec<StunProbe> = d
            .server_results()
            .iter()
            .map(|(addr, r)| StunProbe {
                server: stun
                    .iter()
                    .find(|(_, a)| *a == Some(*addr))
                    .map(|(u, _)| u.clone())
                    .unwrap_or_else(|| format!("stun:{addr}")),
                outcome: stun_outcome(r),
            })
            .collect();
        (d.result(), per_server)
    };
    let options_f = async {
        match &server {
            Ok(s) => {
                let tls =
                    crate::sip::tls::client_config(config.network.tls_ca_file.as_deref()).ok();
                Some(net::options_matrix(cells_for(s), OPTIONS_LIMIT, tls).await)
            }
            Err(_) => None,
        }
    };
    let quality_f = async {
        let Some(first) = stun_addrs.first().copied() else {
            return Vec::new();
        };
        let packets = if opts.quality_packets == 0 {
            250
        } else {
            opts.quality_packets
        };
        match net::bind_like_rtp(first).await {
            Ok((sock, _)) => {
                let limit = Duration::from_millis(u64::from(packets) * 20 + 1500);
                net::quality(sock, first, packets, Instant::now() + limit)
                    .await
                    .samples()
                    .to_vec()
            }
            Err(_) => Vec::new(),
        }
    };
    let relay_f = async {
        match opts.relay_hook.as_ref().and_then(|h| h(config)) {
            Some(f) => match tokio::time::timeout(Duration::from_secs(7), f).await {
                Ok(r) => r,
                Err(_) => RelayProbe::NotRun {
                    why: "the relay test did not finish within 7 seconds".into(),
                },
            },
            None => RelayProbe::NotConfigured,
        }
    };
    let mut discovery_f = pin!(discovery_f);
    let mut options_f = pin!(options_f);
    let mut quality_f = pin!(quality_f);
    let mut relay_f = pin!(relay_f);
    let (mut d_done, mut o_done, mut q_done, mut r_done) = (false, false, false, false);
    while !(d_done && o_done && q_done && r_done) {
        tokio::select! {
            (report, mut per_server) = &mut discovery_f, if !d_done => {
                d_done = true;
                per_server.extend(stun_failed.iter().cloned());
                inputs.discovery = Some((report, per_server));
            }
            o = &mut options_f, if !o_done => { o_done = true; inputs.options = o; }
            q = &mut quality_f, if !q_done => { q_done = true; inputs.quality = Some(q); }
            r = &mut relay_f, if !r_done => { r_done = true; inputs.relays = Some(r); }
        }
        for c in inputs.ready(config.network.force_relay) {
            progress(DiagEvent::Check { check: c });
        }
    }
    let audio = audio.await.ok();
    emit(checks::audio(audio.as_ref()), &mut inputs, progress);

    let pending_lifetime = Check::skipped(
        CheckId::NatTimeout,
        "How long your router remembers a call is measured in the background after the quick \
         verdict (up to 4 minutes).",
    );
    let mut quick: Vec<Check> = inputs.done.clone();
    quick.push(pending_lifetime);
    let quick_report = Report::new(quick, ms(started.elapsed()));
    progress(DiagEvent::Verdict {
        report: quick_report.clone(),
    });

    let keepalive = config.network.keepalive_secs;
    let timeout_check = if !opts.background {
        checks::nat_timeout(
            LifetimeResult::NotMeasured("it was not run (--no-background)".into()),
            keepalive,
        )
    } else {
        let answering = inputs.discovery.as_ref().and_then(|(b, per)| {
            b.as_ref()?.mapped?;
            per.iter()
                .zip(&stun_addrs)
                .find_map(|(p, a)| matches!(p.outcome, StunOutcome::Mapped { .. }).then_some(*a))
        });
        match answering {
            None => checks::nat_timeout(
                LifetimeResult::NotMeasured("no STUN server answered over UDP".into()),
                keepalive,
            ),
            Some(server) => {
                let t0 = Instant::now();
                let mut p = LifetimeProbe::new(t0, server, default_idle_times(), Timing::default());
                net::drive(&mut p, None, t0 + LIFETIME_LIMIT).await;
                let result = match p.outcome() {
                    Some(LifetimeOutcome::Measured { survived, expired }) => {
                        LifetimeResult::Measured {
                            survived_s: u32::try_from(survived.as_secs()).unwrap_or(u32::MAX),
                            lifetime_s: u32::try_from(expired.as_secs()).unwrap_or(u32::MAX),
                        }
                    }
                    Some(LifetimeOutcome::AtLeast(d)) => LifetimeResult::AtLeast {
                        survived_s: u32::try_from(d.as_secs()).unwrap_or(u32::MAX),
                    },
                    Some(LifetimeOutcome::NotMeasured(why)) => LifetimeResult::NotMeasured(why),
                    None => LifetimeResult::NotMeasured(
                        "the measurement did not finish within 4 minutes".into(),
                    ),
                };
                let mut c = checks::nat_timeout(result, keepalive);
                if let Some(obj) = c.details.as_object_mut() {
                    obj.insert("measured_in_ms".into(), ms(t0.elapsed()).into());
                }
                c
            }
        }
    };
    progress(DiagEvent::Check {
        check: timeout_check.clone(),
    });
    let mut all = inputs.done.clone();
    all.retain(|c| c.id != CheckId::NatTimeout);
    all.push(timeout_check);
    let report = Report::new(all, ms(started.elapsed()));
    progress(DiagEvent::Finished {
        report: report.clone(),
    });
    Ok(DiagRun {
        report,
        account_id: account.map(|a| a.id.clone()),
    })
}

/// True when the check's status means the CLI exits 1.
pub fn is_problem(c: &Check) -> bool {
    c.status == Status::Problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_uris() {
        assert_eq!(
            parse_stun_uri("stun:203.0.113.10"),
            Some(("203.0.113.10".into(), 3478))
        );
        assert_eq!(
            parse_stun_uri("stun:stun.example.net:19302"),
            Some(("stun.example.net".into(), 19302))
        );
        assert_eq!(
            parse_stun_uri("stun:[2001:db8::1]:3479"),
            Some(("2001:db8::1".into(), 3479))
        );
        assert_eq!(parse_stun_uri("turn:x"), None);
        assert_eq!(parse_stun_uri("stun:"), None);
        assert_eq!(parse_stun_uri("stun:host:notaport"), None);
    }
}
