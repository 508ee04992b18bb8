//! SIP at run time: transports, server location, and one registration driver per account
//! over the sans-IO cores of `homeline-sip`.
//!
//! ```text
//!  Phone::start_registrations()
//!     └─ SipRuntime::start(account)        one tokio task per account (driver.rs)
//!          ├─ resolve.rs   RFC 3263: NAPTR → SRV → A/AAAA (hickory), or the literal address
//!          ├─ transport.rs a Flow: UDP, TCP, TLS (rustls), WS/WSS (RFC 7118)
//!          ├─ netwatch.rs  is the route to the server still the flow's? (network changes)
//!          └─ the cores    Registration + TransactionLayer + KeepAlive, fed with `now`
//!                          from a Clock; drained until quiet; sleep until their timeout
//!     status: a watch per account + one broadcast of every change (RegistrationStatus)
//! ```
//!
//! Everything here needs a tokio runtime: [`SipRuntime::start`] spawns on the current one
//! (the desktop shell's, or the CLI's).

pub mod clock;
pub mod commands;
pub mod direct;
pub mod driver;
pub mod netwatch;
pub mod resolve;
pub mod status;
pub mod tls;
pub mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use clock::{Clock, TokioClock};
pub use commands::{CallCommand, SignallingAddress};
pub use direct::{DirectCalls, DirectSetup};
pub use driver::{AccountCall, AccountSetup, DriverDeps, IncomingRequest};
pub use netwatch::{RouteProbe, SystemRoutes};
pub use resolve::{Dns, HickoryDns, Target};
pub use status::{RegistrationState, RegistrationStatus};
pub use transport::{TransportError, TransportOptions};

/// Errors of starting SIP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    /// Called outside a tokio runtime.
    #[error("SIP needs a running tokio runtime (this is a bug in the caller)")]
    NoRuntime,
    /// The account has no registrar, so there is nothing to register with.
    #[error(
        "the account {0:?} has no registrar, so it cannot register (it can still make direct calls)"
    )]
    NoRegistrar(String),
    /// The TLS settings are unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsSetupError),
}

struct AccountHandle {
    status: watch::Receiver<RegistrationStatus>,
    shutdown: watch::Sender<bool>,
    commands: tokio::sync::mpsc::UnboundedSender<CallCommand>,
    task: JoinHandle<()>,
}

/// The running registrations of all accounts.
pub struct SipRuntime {
    accounts: Mutex<HashMap<String, AccountHandle>>,
    changes: broadcast::Sender<RegistrationStatus>,
    incoming: broadcast::Sender<IncomingRequest>,
    calls: broadcast::Sender<AccountCall>,
    messages: broadcast::Sender<crate::presence::chat::AccountMessage>,
    presence: broadcast::Sender<crate::presence::agent::AccountPresence>,
    clock: Arc<dyn Clock>,
    dns: Mutex<Option<Arc<dyn Dns>>>,
    routes: Mutex<(Arc<dyn RouteProbe>, Duration)>,
}

impl std::fmt::Debug for SipRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipRuntime")
            .field("accounts", &self.lock().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for SipRuntime {
    fn default() -> Self {
        Self::new(Arc::new(TokioClock))
    }
}

impl SipRuntime {
    /// A runtime with no accounts, taking time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            accounts: Mutex::new(HashMap::new()),
            changes: broadcast::channel(256).0,
            incoming: broadcast::channel(256).0,
            calls: broadcast::channel(1024).0,
            messages: broadcast::channel(1024).0,
            presence: broadcast::channel(4096).0,
            clock,
            dns: Mutex::new(None),
            routes: Mutex::new((Arc::new(SystemRoutes), netwatch::NET_POLL)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, AccountHandle>> {
        // Entries are inserted and removed whole; a panic elsewhere cannot leave one torn.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Uses `dns` instead of the system resolver (tests, or a custom DNS server).
    pub fn set_dns(&self, dns: Arc<dyn Dns>) {
        *self.dns.lock().unwrap_or_else(PoisonError::into_inner) = Some(dns);
    }

    /// Uses `probe`, asked every `every`, to notice network changes instead of the system's
    /// routing table every [`netwatch::NET_POLL`] (tests). Applies to accounts started after.
    pub fn set_route_probe(&self, probe: Arc<dyn RouteProbe>, every: Duration) {
        *self.routes.lock().unwrap_or_else(PoisonError::into_inner) = (probe, every);
    }

    fn dns(&self) -> Arc<dyn Dns> {
        let mut guard = self.dns.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(d) = guard.as_ref() {
            return d.clone();
        }
        let dns: Arc<dyn Dns> = match HickoryDns::from_system() {
            Ok(d) => Arc::new(d),
            Err(e) => {
                tracing::warn!(error = %e, "no system DNS configuration; only addresses work");
                Arc::new(NoDns)
            }
        };
        *guard = Some(dns.clone());
        dns
    }

    /// Starts (or restarts) registering one account. Must run inside a tokio runtime.
    pub fn start(&self, setup: AccountSetup) -> Result<(), SipError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| SipError::NoRuntime)?;
        let id = setup.account_id.clone();
        let (status_tx, status_rx) = watch::channel(RegistrationStatus::idle(&id));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (routes, net_poll) = self
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let deps = DriverDeps {
            clock: self.clock.clone(),
            dns: self.dns(),
            changes: self.changes.clone(),
            incoming: self.incoming.clone(),
            calls: self.calls.clone(),
            messages: self.messages.clone(),
            presence: self.presence.clone(),
            routes,
            net_poll,
        };
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::unbounded_channel();
        let seed = seed_for(&id);
        let driver = driver::Driver::new(setup, deps, status_tx, shutdown_rx, seed, cmd_rx);
        let task = handle.spawn(driver.run());
        let old = self.lock().insert(
            id,
            AccountHandle {
                status: status_rx,
                shutdown: shutdown_tx,
                commands: cmd_tx,
                task,
            },
        );
        if let Some(old) = old {
            // The old driver unregisters on its own; the new one registers afresh.
            let _ = old.shutdown.send(true);
        }
        Ok(())
    }

    /// Every account's current status, ordered by account id.
    pub fn states(&self) -> Vec<RegistrationStatus> {
        let mut v: Vec<RegistrationStatus> = self
            .lock()
            .values()
            .map(|h| h.status.borrow().clone())
            .collect();
        v.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        v
    }

    /// A watch of one account's status.
    pub fn watch(&self, account_id: &str) -> Option<watch::Receiver<RegistrationStatus>> {
        self.lock().get(account_id).map(|h| h.status.clone())
    }

    /// Every status change of every account from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RegistrationStatus> {
        self.changes.subscribe()
    }

    /// Incoming requests of every account from now on.
    pub fn subscribe_incoming(&self) -> broadcast::Receiver<IncomingRequest> {
        self.incoming.subscribe()
    }

    /// Call events of every account from now on. While nobody subscribes, incoming calls
    /// are answered `486 Busy Here` (there is no one to ring them).
    pub fn subscribe_calls(&self) -> broadcast::Receiver<AccountCall> {
        self.calls.subscribe()
    }

    /// Instant-message events of every account from now on.
    pub fn subscribe_messages(&self) -> broadcast::Receiver<crate::presence::chat::AccountMessage> {
        self.messages.subscribe()
    }

    /// Presence events of every account from now on.
    pub fn subscribe_presence(
        &self,
    ) -> broadcast::Receiver<crate::presence::agent::AccountPresence> {
        self.presence.subscribe()
    }

    /// Sends a call command to an account's driver; `false` when the account is not running.
    pub fn call_command(&self, account_id: &str, command: CallCommand) -> bool {
        self.lock()
            .get(account_id)
            .is_some_and(|h| h.commands.send(command).is_ok())
    }

    /// Unregisters every account and waits (at most `limit`) for the drivers to finish.
    pub async fn stop_all(&self, limit: Duration) {
        let handles: Vec<AccountHandle> = self.lock().drain().map(|(_, h)| h).collect();
        for h in &handles {
            let _ = h.shutdown.send(true);
        }
        let all = futures_util::future::join_all(handles.into_iter().map(|h| h.task));
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!("some registrations did not end in time");
        }
    }

    /// Unregisters one account and waits (at most `limit`) for its driver to finish.
    pub async fn stop(&self, account_id: &str, limit: Duration) {
        let Some(h) = self.lock().remove(account_id) else {
            return;
        };
        let _ = h.shutdown.send(true);
        if tokio::time::timeout(limit, h.task).await.is_err() {
            tracing::warn!(account = account_id, "the registration did not end in time");
        }
    }
}

impl Drop for SipRuntime {
    fn drop(&mut self) {
        // Ask the drivers to unregister; they finish if their runtime lives on.
        for h in self.lock().values() {
            let _ = h.shutdown.send(true);
        }
    }
}

/// A different seed per account and per run: tags, Call-IDs and jitter must not repeat
/// across restarts (RFC 3261 §8.1.1.4 wants Call-IDs unique in space and time).
pub(crate) fn seed_for(id: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(id.as_bytes());
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish()
}

/// Stands in when the system has no DNS configuration: names fail, addresses still work.
#[derive(Debug)]
struct NoDns;

impl Dns for NoDns {
    fn naptr<'a>(
        &'a self,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<resolve::Naptr>, resolve::DnsFailure>> {
        Box::pin(async { Err(resolve::DnsFailure::NoResolver) })
    }
    fn srv<'a>(
        &'a self,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<resolve::Srv>, resolve::DnsFailure>> {
        Box::pin(async { Err(resolve::DnsFailure::NoResolver) })
    }
    fn ips<'a>(
        &'a self,
        _: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<std::net::IpAddr>, resolve::DnsFailure>>
    {
        Box::pin(async { Err(resolve::DnsFailure::NoResolver) })
    }
}
