//! The tokio driver of the ICE agent ([`homeline_nat::ice::IceAgent`]) over real UDP sockets.
//!
//! One task owns the agent: it reads the sockets (one reader task per socket feeds a channel),
//! feeds the agent, sends what it emits, sleeps until its timeout, and passes media (non-STUN
//! datagrams from the peer) and events on. Time is tokio's clock, so paused-time tests drive
//! the RFC timers virtually. Sockets of TURN allocations are not handled here (the TURN driver
//! owns them); this driver runs host (and server-reflexive, which share the host socket)
//! candidates.
//!
//! ```text
//! let sock = Arc::new(UdpSocket::bind("0.0.0.0:0").await?);
//! let mut agent = IceAgent::new(now, IceConfig { controlling, ..Default::default() })?;
//! agent.add_local_candidate(LocalCandidate::host(1, public_or_local_addr))?;
//! local_media.set_ice(agent.local_description());            // our SDP
//! let mut ice = IceDriver::spawn(agent, vec![(1, sock)]);
//! ice.set_remote(remote_description, controlling);           // from the peer's SDP
//! while let Some(e) = ice.next_event().await { if let IceEvent::Selected(p) = e { … } }
//! ice.send_media(rtp_bytes);                                 // on the selected pair
//! let (from, bytes) = ice.recv_media().await?;               // the peer's media
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use homeline_media::sdp::IceDescription;
use homeline_nat::ice::{IceAgent, IceEvent, LocalCandidate, Received, SelectedPair, SocketId};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest datagram we read (RTP of an audio call is < 1500 bytes; STUN < 600).
const MAX_DATAGRAM: usize = 2048;

enum Command {
    SetRemote(IceDescription, bool),
    Restart {
        ufrag: String,
        pwd: String,
        locals: Vec<LocalCandidate>,
        reply: tokio::sync::oneshot::Sender<Option<IceDescription>>,
    },
    Media(Vec<u8>),
}

/// A running ICE agent. Dropping it stops the driver.
#[derive(Debug)]
pub struct IceDriver {
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<IceEvent>,
    media: mpsc::Receiver<(SocketAddr, Vec<u8>)>,
    task: JoinHandle<()>,
}

impl Drop for IceDriver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl IceDriver {
    /// Starts driving `agent` (with its local candidates added) over `sockets`, each under the
    /// [`SocketId`] its candidates name.
    pub fn spawn(agent: IceAgent, sockets: Vec<(SocketId, Arc<UdpSocket>)>) -> Self {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        // Media is bounded: a slow consumer loses audio rather than growing memory.
        let (media_tx, media_rx) = mpsc::channel(256);
        let task = tokio::spawn(run(agent, sockets, cmd_rx, ev_tx, media_tx));
        IceDriver {
            commands: cmd_tx,
            events: ev_rx,
            media: media_rx,
            task,
        }
    }

    /// Starts the checks against the peer's description with our role.
    pub fn set_remote(&self, remote: IceDescription, controlling: bool) {
        let _ = self.commands.send(Command::SetRemote(remote, controlling));
    }

    /// ICE restart: new credentials (empty = random) and candidates; returns our new
    /// description for the re-INVITE, or `None` when the agent refused (logged).
    pub async fn restart(
        &self,
        ufrag: String,
        pwd: String,
        locals: Vec<LocalCandidate>,
    ) -> Option<IceDescription> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.commands
            .send(Command::Restart {
                ufrag,
                pwd,
                locals,
                reply,
            })
            .ok()?;
        rx.await.ok().flatten()
    }

    /// The next event; `None` once the driver stopped.
    pub async fn next_event(&mut self) -> Option<IceEvent> {
        self.events.recv().await
    }

    /// Sends a media datagram on the selected pair (dropped while none is selected).
    pub fn send_media(&self, datagram: Vec<u8>) {
        let _ = self.commands.send(Command::Media(datagram));
    }

    /// The next media datagram from the peer (RTP, RTCP or DTLS), with its source.
    pub async fn recv_media(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.media.recv().await
    }
}

async fn run(
    mut agent: IceAgent,
    sockets: Vec<(SocketId, Arc<UdpSocket>)>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<IceEvent>,
    media: mpsc::Sender<(SocketAddr, Vec<u8>)>,
) {
    let (in_tx, mut inbound) = mpsc::channel::<(SocketId, SocketAddr, Vec<u8>)>(256);
    // Dropping the set (when this task ends or is aborted) aborts the readers.
    let mut readers = tokio::task::JoinSet::new();
    let by_id: HashMap<SocketId, Arc<UdpSocket>> = sockets.iter().cloned().collect();
    for (id, sock) in sockets {
        let tx = in_tx.clone();
        readers.spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                match sock.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        if tx.send((id, from, buf[..n].to_vec())).await.is_err() {
                            return;
                        }
                    }
                    // ICMP errors surface as recv errors on some systems: not fatal.
                    Err(e) => tracing::debug!("ice: recv on socket {id}: {e}"),
                }
            }
        });
    }
    let mut selected: Option<SelectedPair> = None;
    loop {
        while let Some(t) = agent.poll_transmit() {
            if let Some(s) = by_id.get(&t.socket)
                && let Err(e) = s.send_to(&t.payload, t.destination).await
            {
                tracing::debug!("ice: send to {}: {e}", t.destination);
            }
        }
        while let Some(e) = agent.poll_event() {
            match &e {
                IceEvent::Selected(p) => selected = Some(*p),
                IceEvent::ConsentLost | IceEvent::Failed => selected = None,
                _ => {}
            }
            if events.send(e).is_err() {
                break;
            }
        }
        let deadline = agent.poll_timeout();
        tokio::select! {
            Some((id, from, data)) = inbound.recv() => {
                if agent.handle_receive(now(), id, from, &data) == Received::Media {
                    // Full: the consumer is behind; drop this packet (audio tolerates loss).
                    let _ = media.try_send((from, data));
                }
            }
            cmd = commands.recv() => match cmd {
                None => break,
                Some(Command::SetRemote(remote, controlling)) => {
                    if let Err(e) = agent.set_remote(now(), &remote, controlling) {
                        tracing::warn!("ice: {e}");
                    }
                }
                Some(Command::Restart { ufrag, pwd, locals, reply }) => {
                    selected = None;
                    let r = agent.restart(now(), ufrag, pwd, &locals);
                    if let Err(e) = &r {
                        tracing::warn!("ice: restart: {e}");
                    }
                    let _ = reply.send(r.ok().map(|()| agent.local_description()));
                }
                Some(Command::Media(d)) => {
                    if let Some(p) = selected
                        && let Some(s) = by_id.get(&p.socket)
                    {
                        let _ = s.send_to(&d, p.destination).await;
                    }
                }
            },
            _ = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            } => agent.handle_timeout(now()),
        }
    }
    readers.abort_all();
}
