//! The headset driver: one tokio task around the sans-IO [`Headset`] machine, fed by a reader
//! thread that blocks on the device (no polling), acting on the call manager and writing the
//! LED reports after every change.

use std::time::{Duration, Instant};

use homeline_headset::{
    CallIndication, CallPhase, Headset, HeadsetEvent, ReportWriter, Switches, TelephonyLayout,
    Transport, TransportError,
};
use tokio::sync::{broadcast, mpsc, watch};

use crate::calls::{CallStatus, CallView, Calls};

/// How long the reader thread blocks in one read before it checks whether the driver is gone.
/// One wake-up a second when the headset is silent; a report is handled as soon as it arrives.
const READ_BLOCK: Duration = Duration::from_secs(1);

/// A running driver for one open headset.
#[derive(Debug)]
pub struct HeadsetDriver {
    switches: std::sync::Arc<watch::Sender<Switches>>,
    events: broadcast::Sender<HeadsetEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl HeadsetDriver {
    /// Starts the driver (inside a tokio runtime) on an open device with this layout.
    pub fn start(
        calls: Calls,
        transport: Transport,
        layout: TelephonyLayout,
        switches: Switches,
    ) -> Self {
        let (sw_tx, sw_rx) = watch::channel(switches);
        let events = broadcast::channel(64).0;
        let (rep_tx, rep_rx) = mpsc::unbounded_channel();
        let mut reader = transport.reader;
        std::thread::Builder::new()
            .name("headset-reader".into())
            .spawn(move || {
                let mut buf = vec![0u8; 4096];
                loop {
                    match reader.read(&mut buf, READ_BLOCK) {
                        Ok(0) => {
                            if rep_tx.is_closed() {
                                return;
                            }
                        }
                        Ok(n) => {
                            let report = buf.get(..n).unwrap_or_default().to_vec();
                            if rep_tx.send(Ok(report)).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = rep_tx.send(Err(e));
                            return;
                        }
                    }
                }
            })
            .map_err(|e| tracing::warn!("headset reader thread did not start: {e}"))
            .ok();
        let machine = Headset::new(layout, switches);
        let task = tokio::spawn(run(
            calls,
            transport.writer,
            rep_rx,
            sw_rx,
            machine,
            events.clone(),
        ));
        HeadsetDriver {
            switches: std::sync::Arc::new(sw_tx),
            events,
            task,
        }
    }

    /// Changes the switches at once (Settings → Headset).
    pub fn set_switches(&self, switches: Switches) {
        self.switches.send_replace(switches);
    }

    /// A handle to change the switches from elsewhere (fails once the driver is gone).
    pub fn switch_sender(&self) -> std::sync::Arc<watch::Sender<Switches>> {
        self.switches.clone()
    }

    /// Every button event acted on, as it happens.
    pub fn subscribe(&self) -> broadcast::Receiver<HeadsetEvent> {
        self.events.subscribe()
    }

    /// Whether the device is gone (unplugged) and the driver ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits until the device is gone.
    pub async fn finished(&mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for HeadsetDriver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The call the headset shows and acts on, and what it shows of it: an active call first, then
/// a ringing one, then one on hold, then one being placed.
pub fn focus(views: &[CallView]) -> (CallIndication, Option<CallView>) {
    let pick = |f: &dyn Fn(&CallView) -> bool| views.iter().find(|v| f(v)).cloned();
    let talking = |v: &CallView| matches!(v.state, CallStatus::Active | CallStatus::Connecting);
    if let Some(v) = pick(&|v| talking(v) && !v.on_hold) {
        return (ind(CallPhase::Active, v.muted), Some(v));
    }
    if let Some(v) = pick(&|v| v.state == CallStatus::Incoming) {
        return (ind(CallPhase::Ringing, false), Some(v));
    }
    if let Some(v) = pick(&|v| talking(v) && v.on_hold) {
        return (ind(CallPhase::Held, v.muted), Some(v));
    }
    if let Some(v) = pick(&|v| matches!(v.state, CallStatus::Dialing | CallStatus::Ringing)) {
        return (ind(CallPhase::Dialing, v.muted), Some(v));
    }
    (CallIndication::default(), None)
}

fn ind(phase: CallPhase, muted: bool) -> CallIndication {
    CallIndication { phase, muted }
}

async fn act(calls: &Calls, event: HeadsetEvent) {
    let (_, call) = focus(&calls.list());
    let Some(call) = call else {
        // Redial acts with no call in progress (the headset only reports it then).
        if event == HeadsetEvent::Redial
            && let Err(e) = calls.redial().await
        {
            tracing::info!("headset Redial not acted on: {}", e.message);
        }
        return;
    };
    let id = call.id.as_str();
    let result = match event {
        HeadsetEvent::Answer if call.state == CallStatus::Incoming => calls.answer(id).await,
        HeadsetEvent::HangUp | HeadsetEvent::Drop if call.state == CallStatus::Incoming => {
            calls.reject(id).await
        }
        HeadsetEvent::HangUp | HeadsetEvent::Drop => calls.hangup(id).await,
        HeadsetEvent::Mute(on) => calls.mute(id, on).await,
        HeadsetEvent::Flash => calls.hold(id, !call.on_hold).await,
        HeadsetEvent::Key(k) => calls.send_dtmf(id, &k.to_string()).await,
        // Redial in a call: the call in progress is what matters (most headsets send it only
        // when idle anyway).
        HeadsetEvent::Answer | HeadsetEvent::Redial => Ok(()),
    };
    if let Err(e) = result {
        tracing::info!(?event, "headset button not acted on: {}", e.message);
    }
}

fn write(writer: &mut Box<dyn ReportWriter>, reports: Vec<homeline_headset::OutputReport>) -> bool {
    for r in reports {
        match writer.write(&r.bytes) {
            Ok(()) => {}
            Err(TransportError::Disconnected) => return false,
            Err(e) => tracing::info!("headset LED report not written: {e}"),
        }
    }
    true
}

async fn run(
    calls: Calls,
    mut writer: Box<dyn ReportWriter>,
    mut reports: mpsc::UnboundedReceiver<Result<Vec<u8>, TransportError>>,
    mut switches: watch::Receiver<Switches>,
    mut machine: Headset,
    events: broadcast::Sender<HeadsetEvent>,
) {
    let mut updates = calls.subscribe();
    let (indication, _) = focus(&calls.list());
    if !write(&mut writer, machine.apply(Instant::now(), indication)) {
        return;
    }
    loop {
        tokio::select! {
            r = reports.recv() => {
                let Some(Ok(report)) = r else {
                    tracing::info!("headset disconnected");
                    return;
                };
                for ev in machine.handle_input(Instant::now(), &report) {
                    tracing::debug!(?ev, "headset button");
                    act(&calls, ev).await;
                    let _ = events.send(ev);
                }
            }
            u = updates.recv() => {
                if let Err(broadcast::error::RecvError::Closed) = u {
                    return;
                }
            }
            c = switches.changed() => {
                if c.is_err() {
                    return;
                }
                let s = *switches.borrow_and_update();
                machine.set_switches(s);
            }
        }
        let (indication, _) = focus(&calls.list());
        if !write(&mut writer, machine.apply(Instant::now(), indication)) {
            return;
        }
    }
}
