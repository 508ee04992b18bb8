//! Faults in the middle of a call (issue 11), in the lab, through the Phone API as the app uses
//! it: Alice's Homeline behind the `Cone` router calls Bob's Homeline on the public host through
//! kamailio, both sending audio (silence frames), and then
//! - kamailio is restarted: the call's audio goes on (media never touches the server), Alice's
//!   TCP registration is back within 5 s of the server, and the call still hangs up cleanly;
//! - the client's route out is dropped for 20 s and comes back: the call is not lost, its audio
//!   resumes, and an incoming call reaches Alice again;
//! - the router forgets its NAT table and maps the call to a new public port: Bob latches onto
//!   the new address within 2 s and the audio goes on both ways;
//! - the TURN relay carrying the call (over TCP, and over UDP) restarts: a new allocation,
//!   offered to Bob, and the audio back both ways within 3 s of the relay.
//!
//! They run side by side (labs are named per label). Needs root and kamailio; prints
//! `skipped: …` and passes otherwise. Each phone runs in a tokio runtime inside its namespace.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use homeline_lab::{KamailioConfig, Lab, LabError, RouterProfile};
use homeline_phone::api::CallOutcome;
use homeline_phone::calls::{CallStatus, CallView};
use homeline_phone::media::AudioPlan;
use homeline_phone::{
    MemoryKeyring, Phone, PhoneOptions, RegistrationState, RegistrationStatus, SecretBackendChoice,
};

/// One account's config file; `network` goes under `[network]`.
fn config(dir: &Path, user: &str, registrar: &str, transport: &str, network: &str) -> PathBuf {
    let path = dir.join("homeline.toml");
    std::fs::write(
        &path,
        format!(
            "version = 1\n[network]\n{network}\n\n[[accounts]]\nid = \"{user}\"\n\
             display_name = \"{user}\"\nsip_address = \"sip:{user}@homeline.test\"\n\
             registrar = \"{registrar}\"\ntransport = \"{transport}\"\npassword = \"pw-{user}\"\n"
        ),
    )
    .unwrap();
    path
}

fn open_phone(dir: &Path, config: PathBuf) -> Phone {
    let phone = Phone::open(PhoneOptions {
        config_path: Some(config),
        log_dir: Some(dir.join("logs")),
        secret_backend: SecretBackendChoice::Memory(MemoryKeyring::default()),
        history_path: Some(dir.join("history.jsonl")),
    })
    .unwrap();
    // A configuration the phone refused would leave it without accounts: say so here.
    assert_eq!(
        phone.list_accounts().len(),
        1,
        "the test's config was refused"
    );
    phone
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The phones' log (every test of this file, interleaved, debug level) goes to
/// `fault_lab-phones.log` beside the labs' output, for the post-mortem of a failure.
fn log_to_file() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let root = homeline_lab::out_root();
        let _ = std::fs::create_dir_all(&root);
        if let Ok(file) = std::fs::File::create(root.join("fault_lab-phones.log")) {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "info,homeline_phone=debug,homeline_sip=debug",
                ))
                .with_writer(std::sync::Mutex::new(file))
                .with_ansi(false)
                .with_thread_names(true)
                .try_init();
        }
    });
}

fn lab(label: &str) -> Option<Lab> {
    if homeline_lab::skip_unless_root() || homeline_lab::skip_unless_installed(&["kamailio"]) {
        return None;
    }
    log_to_file();
    match Lab::builder(RouterProfile::Cone).label(label).build() {
        Ok(lab) => Some(lab),
        Err(LabError::Unsupported(why)) => {
            eprintln!("skipped: {why}");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// Waits until `pred` holds for the registration of `id`.
async fn registration(
    phone: &Phone,
    id: &str,
    limit: Duration,
    pred: impl Fn(&RegistrationStatus) -> bool,
) -> RegistrationStatus {
    let mut w = phone.registration_watch(id).unwrap();
    let wait = async {
        loop {
            let s = w.borrow_and_update().clone();
            if pred(&s) {
                return s;
            }
            w.changed().await.unwrap();
        }
    };
    match tokio::time::timeout(limit, wait).await {
        Ok(s) => s,
        Err(_) => panic!("{id}: condition not reached in {limit:?}: {:?}", w.borrow()),
    }
}

fn registered(s: &RegistrationStatus) -> bool {
    s.state == RegistrationState::Registered
}

/// Waits for an update of the call `ours` picks out that satisfies `pred`; that call ending
/// fails the wait (with its view) unless the predicate accepts it. Other calls' updates, such as
/// the late end of an earlier call, are passed over.
async fn call_update(
    rx: &mut tokio::sync::broadcast::Receiver<CallView>,
    what: &str,
    limit: Duration,
    ours: impl Fn(&CallView) -> bool,
    pred: impl Fn(&CallView) -> bool,
) -> CallView {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(v) if !ours(&v) => {}
                Ok(v) if pred(&v) => return v,
                Ok(v) if v.is_ended() => panic!("{what}: the call ended instead: {v:?}"),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("{what}: updates stopped: {e}"),
            }
        }
    };
    match tokio::time::timeout(limit, wait).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: not within {limit:?}"),
    }
}

/// kamailio with the lab's two users.
fn pbx(lab: &Lab) -> homeline_lab::Kamailio {
    lab.start_kamailio(
        KamailioConfig::new()
            .user("alice", "pw-alice")
            .user("bob", "pw-bob"),
    )
    .unwrap()
}

/// Bob's side of the call Alice places: answers with silence, registers, says so on `ready`,
/// and returns his calls, their updates and the call once active.
async fn answer_alice<'a>(
    bob: &'a Phone,
    ready: &mpsc::Sender<bool>,
) -> (
    &'a homeline_phone::calls::Calls,
    tokio::sync::broadcast::Receiver<CallView>,
    CallView,
) {
    let calls = bob.calls().unwrap();
    calls.set_auto_answer(Some(AudioPlan::Silence));
    let mut updates = calls.subscribe();
    bob.start_registrations().unwrap();
    registration(bob, "bob", Duration::from_secs(20), registered).await;
    ready.send(true).unwrap();
    let call = call_update(
        &mut updates,
        "Alice's call",
        Duration::from_secs(20),
        |_| true,
        |v| v.state == CallStatus::Active,
    )
    .await;
    (calls, updates, call)
}

/// Alice registers, calls Bob and waits for `what`: his first second of audio. Returns her
/// calls, their updates and the call's view then.
async fn call_bob<'a>(
    alice: &'a Phone,
    what: &str,
) -> (
    &'a homeline_phone::calls::Calls,
    tokio::sync::broadcast::Receiver<CallView>,
    CallView,
) {
    let calls = alice.calls().unwrap();
    alice.start_registrations().unwrap();
    registration(alice, "alice", Duration::from_secs(20), registered).await;
    let mut updates = calls.subscribe();
    let call = alice
        .dial(
            "sip:bob@homeline.test",
            Some("alice"),
            Some(AudioPlan::Silence),
        )
        .await
        .unwrap();
    let view = call_update(
        &mut updates,
        what,
        Duration::from_secs(15),
        |v| v.id == call.id,
        |v| received(v) >= 50,
    )
    .await;
    (calls, updates, view)
}

fn received(v: &CallView) -> u64 {
    v.stats.as_ref().map_or(0, |s| s.packets_received)
}

/// Bob on the public host: registered, answering every call with silence, until `done`.
/// Sends `true` on `ready` once registered. `call_alice`: after `go`, calls Alice and reports
/// whether that call became active.
fn bob(
    lab: &Lab,
    phone: &Phone,
    ready: mpsc::Sender<bool>,
    call_alice: Option<mpsc::Receiver<()>>,
    done: mpsc::Receiver<()>,
) -> Option<CallView> {
    lab.public()
        .run(|| {
            runtime().block_on(async {
                let calls = phone.calls().unwrap();
                calls.set_auto_answer(Some(AudioPlan::Silence));
                phone.start_registrations().unwrap();
                registration(phone, "bob", Duration::from_secs(20), registered).await;
                ready.send(true).unwrap();
                let mut outgoing = None;
                if let Some(go) = call_alice {
                    tokio::task::spawn_blocking(move || go.recv())
                        .await
                        .unwrap()
                        .unwrap();
                    let mut updates = calls.subscribe();
                    let call = phone
                        .dial(
                            "sip:alice@homeline.test",
                            Some("bob"),
                            Some(AudioPlan::Silence),
                        )
                        .await
                        .unwrap();
                    let active = call_update(
                        &mut updates,
                        "Bob's call to Alice",
                        Duration::from_secs(15),
                        |v| v.id == call.id,
                        |v| v.state == CallStatus::Active,
                    )
                    .await;
                    calls.hangup(&active.id).await.unwrap();
                    outgoing = Some(active);
                }
                tokio::task::spawn_blocking(move || done.recv())
                    .await
                    .unwrap()
                    .unwrap();
                phone.hangup_all(Duration::from_secs(3)).await;
                phone.stop_registrations().await;
                outgoing
            })
        })
        .unwrap()
}

#[test]
fn a_call_goes_on_while_kamailio_restarts_and_registration_is_back_within_5_s() {
    let Some(lab) = lab("fault-restart") else {
        return;
    };
    let mut k = lab
        .start_kamailio(
            KamailioConfig::new()
                .user("alice", "pw-alice")
                .user("bob", "pw-bob"),
        )
        .unwrap();
    let registrar = format!("sip:{}", k.sip_addr().ip());
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Alice over TCP: a restarted server closes the connection, which is how she learns it.
    let alice = open_phone(
        da.path(),
        config(
            da.path(),
            "alice",
            &registrar,
            "tcp",
            "registration_expires_secs = 300",
        ),
    );
    let bob_phone = open_phone(db.path(), config(db.path(), "bob", &registrar, "udp", ""));
    let (bob_ready, bob_is_ready) = mpsc::channel();
    let (end_bob, bob_ends) = mpsc::channel();
    let (in_call, alice_in_call) = mpsc::channel();
    let (restarted, server_restarted) = mpsc::channel::<Instant>();

    std::thread::scope(|scope| {
        // Owned by this closure: a failed step drops them, which ends the phones' waits, so
        // a failure is reported instead of hanging the scope.
        let (end_bob, restarted) = (end_bob, restarted);
        let b = scope.spawn(|| bob(&lab, &bob_phone, bob_ready, None, bob_ends));
        assert!(bob_is_ready.recv_timeout(Duration::from_secs(60)).unwrap());
        let a = scope.spawn(|| {
            lab.client()
                .run(|| {
                    runtime().block_on(async {
                        let calls = alice.calls().unwrap();
                        alice.start_registrations().unwrap();
                        let first =
                            registration(&alice, "alice", Duration::from_secs(20), registered)
                                .await;
                        let mut updates = calls.subscribe();
                        let call = alice
                            .dial(
                                "sip:bob@homeline.test",
                                Some("alice"),
                                Some(AudioPlan::Silence),
                            )
                            .await
                            .unwrap();
                        // Audio flowing: a second of Bob's frames.
                        let before = call_update(
                            &mut updates,
                            "audio from Bob",
                            Duration::from_secs(15),
                            |v| v.id == call.id,
                            |v| received(v) >= 50,
                        )
                        .await;
                        in_call.send(()).unwrap();
                        let up = tokio::task::spawn_blocking(move || server_restarted.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        let again = registration(&alice, "alice", Duration::from_secs(30), |s| {
                            registered(s) && s.register_requests > first.register_requests
                        })
                        .await;
                        let back_after = up.elapsed();
                        // The audio went on through the restart: two more seconds of frames
                        // arrive after the server is back, on the same call.
                        let during = received(&before);
                        let after = call_update(
                            &mut updates,
                            "audio after the restart",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| received(v) >= during + 100,
                        )
                        .await;
                        assert_eq!(after.state, CallStatus::Active, "{after:?}");
                        // Hanging up goes through the restarted server (it record-routes).
                        calls.hangup(&call.id).await.unwrap();
                        let ended = call_update(
                            &mut updates,
                            "the hang-up",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| v.is_ended(),
                        )
                        .await;
                        alice.stop_registrations().await;
                        (again, back_after, ended)
                    })
                })
                .unwrap()
        });
        alice_in_call.recv_timeout(Duration::from_secs(60)).unwrap();
        k.restart().unwrap();
        restarted.send(Instant::now()).unwrap();
        let (again, back_after, ended) = a.join().unwrap();
        end_bob.send(()).unwrap();
        b.join().unwrap();
        eprintln!("registration back {back_after:?} after kamailio was up again");
        assert!(registered(&again), "{again:?}");
        assert!(
            back_after <= Duration::from_secs(5),
            "registration back only after {back_after:?}"
        );
        assert_eq!(ended.outcome, Some(CallOutcome::Answered), "{ended:?}");
        assert!(ended.end_reason.is_none(), "{ended:?}");
    });
}

#[test]
fn a_call_survives_20_s_without_a_route_and_incoming_calls_work_again() {
    let Some(lab) = lab("fault-route") else {
        return;
    };
    let k = pbx(&lab);
    let registrar = format!("sip:{}", k.sip_addr().ip());
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = open_phone(
        da.path(),
        config(da.path(), "alice", &registrar, "udp", "keepalive_secs = 20"),
    );
    let bob_phone = open_phone(db.path(), config(db.path(), "bob", &registrar, "udp", ""));
    let (bob_ready, bob_is_ready) = mpsc::channel();
    let (call_alice, bob_calls) = mpsc::channel();
    let (end_bob, bob_ends) = mpsc::channel();
    let (in_call, alice_in_call) = mpsc::channel();
    let (restored, route_restored) = mpsc::channel::<()>();
    let (first_ended, alice_free) = mpsc::channel::<()>();
    let route = lab
        .client()
        .run_output("ip", &["route", "show", "default"])
        .unwrap();
    let route: Vec<String> = route.split_whitespace().map(str::to_owned).collect();
    assert!(
        route.first().is_some_and(|w| w == "default"),
        "the client has a default route: {route:?}"
    );

    std::thread::scope(|scope| {
        // Owned by this closure: a failed step drops them, which ends the phones' waits, so
        // a failure is reported instead of hanging the scope.
        let (end_bob, restored, call_alice) = (end_bob, restored, call_alice);
        let b = scope.spawn(|| bob(&lab, &bob_phone, bob_ready, Some(bob_calls), bob_ends));
        assert!(bob_is_ready.recv_timeout(Duration::from_secs(60)).unwrap());
        let a = scope.spawn(|| {
            lab.client()
                .run(|| {
                    runtime().block_on(async {
                        let (calls, mut updates, call) = call_bob(&alice, "audio from Bob").await;
                        in_call.send(()).unwrap();
                        tokio::task::spawn_blocking(move || route_restored.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        // Not ended during the outage (call_update fails on an ended call),
                        // and the audio resumes once the route is back.
                        let now = calls
                            .list()
                            .into_iter()
                            .find(|v| v.id == call.id)
                            .expect("the call is still there");
                        assert_eq!(now.state, CallStatus::Active, "{now:?}");
                        let at_return = received(&now);
                        let resumed = call_update(
                            &mut updates,
                            "audio after the route came back",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| received(v) >= at_return + 100,
                        )
                        .await;
                        calls.hangup(&call.id).await.unwrap();
                        let ended = call_update(
                            &mut updates,
                            "the hang-up",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| v.is_ended(),
                        )
                        .await;
                        // Incoming calls reach Alice again: Bob calls, she answers at once.
                        calls.set_auto_answer(Some(AudioPlan::Silence));
                        first_ended.send(()).unwrap();
                        let incoming = call_update(
                            &mut updates,
                            "Bob's call after the outage",
                            Duration::from_secs(20),
                            |v| v.id != call.id,
                            |v| v.state == CallStatus::Active,
                        )
                        .await;
                        // Bob, the caller, hangs up once he sees the call active: wait for that
                        // end here rather than racing his hang-up with one of ours.
                        call_update(
                            &mut updates,
                            "Bob's hang-up",
                            Duration::from_secs(10),
                            |v| v.id == incoming.id,
                            |v| v.is_ended(),
                        )
                        .await;
                        alice.hangup_all(Duration::from_secs(3)).await;
                        alice.stop_registrations().await;
                        (resumed, ended, incoming)
                    })
                })
                .unwrap()
        });
        alice_in_call.recv_timeout(Duration::from_secs(60)).unwrap();
        lab.client()
            .run_output("ip", &["route", "del", "default"])
            .unwrap();
        // The fault itself lasts 20 s: this wait is the scenario, not a guess at timing.
        std::thread::sleep(Duration::from_secs(20));
        let args: Vec<&str> = ["route", "replace"]
            .into_iter()
            .chain(route.iter().map(String::as_str))
            .collect();
        lab.client().run_output("ip", &args).unwrap();
        restored.send(()).unwrap();
        alice_free.recv_timeout(Duration::from_secs(60)).unwrap();
        call_alice.send(()).unwrap();
        let (resumed, ended, incoming) = a.join().unwrap();
        end_bob.send(()).unwrap();
        let bobs_call = b.join().unwrap().expect("Bob called Alice");
        assert_eq!(resumed.state, CallStatus::Active, "{resumed:?}");
        assert_eq!(ended.outcome, Some(CallOutcome::Answered), "{ended:?}");
        assert_eq!(incoming.remote, "sip:bob@homeline.test", "{incoming:?}");
        assert_eq!(bobs_call.state, CallStatus::Active);
    });
}

/// The NAT mapping changes under a call (the router forgets its table and maps the flow to a new
/// public port, as after a reboot): Bob latches onto Alice's new address within 2 s of the
/// change and her audio reaches him, his reaches her again, on the same call.
#[test]
fn a_new_nat_mapping_under_a_call_is_latched_within_2_s() {
    if homeline_lab::skip_unless_root() || homeline_lab::skip_unless_installed(&["conntrack"]) {
        return;
    }
    let Some(lab) = lab("fault-rebind") else {
        return;
    };
    let k = pbx(&lab);
    let registrar = format!("sip:{}", k.sip_addr().ip());
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = open_phone(da.path(), config(da.path(), "alice", &registrar, "udp", ""));
    let bob = open_phone(db.path(), config(db.path(), "bob", &registrar, "udp", ""));
    // Below the ephemeral range (32768–60999) the first mapping kept from the local port.
    const NEW_PORTS: std::ops::RangeInclusive<u16> = 20000..=20999;
    let (bob_ready, bob_is_ready) = mpsc::channel();
    let (in_call, alice_in_call) = mpsc::channel();
    let (rebound, nat_rebound) = mpsc::channel::<Instant>();
    let (rebound_b, nat_rebound_b) = mpsc::channel::<Instant>();
    let (end_bob, bob_ends) = mpsc::channel::<()>();

    std::thread::scope(|scope| {
        let (rebound, rebound_b, end_bob) = (rebound, rebound_b, end_bob);
        // Bob answers and reports how long after the change his call was sending to Alice's
        // new public port (the view's `remote`, refreshed every second).
        let b = scope.spawn(|| {
            lab.public()
                .run(|| {
                    runtime().block_on(async {
                        let (calls, mut updates, call) = answer_alice(&bob, &bob_ready).await;
                        let at = tokio::task::spawn_blocking(move || nat_rebound_b.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        // Where Bob sent until now (Alice waited for a second of his audio,
                        // so the view has it).
                        let before = calls
                            .list()
                            .into_iter()
                            .find(|v| v.id == call.id)
                            .and_then(|v| v.stats.and_then(|s| s.remote));
                        let moved = call_update(
                            &mut updates,
                            "Bob latching onto Alice's new mapping",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| {
                                v.stats
                                    .as_ref()
                                    .and_then(|s| s.remote)
                                    .is_some_and(|r| NEW_PORTS.contains(&r.port()))
                            },
                        )
                        .await;
                        let latched_after = at.elapsed();
                        tokio::task::spawn_blocking(move || bob_ends.recv())
                            .await
                            .unwrap()
                            .ok();
                        bob.hangup_all(Duration::from_secs(3)).await;
                        bob.stop_registrations().await;
                        (before, moved, latched_after)
                    })
                })
                .unwrap()
        });
        assert!(bob_is_ready.recv_timeout(Duration::from_secs(60)).unwrap());
        let a = scope.spawn(|| {
            lab.client()
                .run(|| {
                    runtime().block_on(async {
                        let (calls, mut updates, call) = call_bob(&alice, "audio from Bob").await;
                        in_call.send(()).unwrap();
                        tokio::task::spawn_blocking(move || nat_rebound.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        let at_change = calls
                            .list()
                            .into_iter()
                            .find(|v| v.id == call.id)
                            .map_or(0, |v| received(&v));
                        // A second of Bob's audio beyond what the last update before the change
                        // could have counted: it came through the new mapping.
                        let resumed = call_update(
                            &mut updates,
                            "Bob's audio through the new mapping",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| received(v) >= at_change + 100,
                        )
                        .await;
                        calls.hangup(&call.id).await.unwrap();
                        let ended = call_update(
                            &mut updates,
                            "the hang-up",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| v.is_ended(),
                        )
                        .await;
                        alice.stop_registrations().await;
                        (resumed, ended)
                    })
                })
                .unwrap()
        });
        alice_in_call.recv_timeout(Duration::from_secs(60)).unwrap();
        lab.rebind_nat(NEW_PORTS).unwrap();
        let at = Instant::now();
        rebound.send(at).unwrap();
        rebound_b.send(at).unwrap();
        let (resumed, ended) = a.join().unwrap();
        end_bob.send(()).unwrap();
        let (before, moved, latched_after) = b.join().unwrap();
        eprintln!(
            "Bob latched from {before:?} to {:?} {latched_after:?} after the change \
             (the view is refreshed every second)",
            moved.stats.as_ref().and_then(|s| s.remote)
        );
        assert!(
            before.is_some_and(|r| !NEW_PORTS.contains(&r.port())),
            "before the change Bob sent to Alice's first mapping: {before:?}"
        );
        // 2 s to latch, plus up to one stats period before the view shows it.
        assert!(
            latched_after <= Duration::from_secs(3),
            "Bob latched onto the new mapping only after {latched_after:?}"
        );
        assert_eq!(resumed.state, CallStatus::Active, "{resumed:?}");
        assert_eq!(ended.outcome, Some(CallOutcome::Answered), "{ended:?}");
        assert!(ended.end_reason.is_none(), "{ended:?}");
    });
}

/// The TURN relay carrying a call over TCP (as the fallback tunnel does) restarts: every
/// allocation is gone and the connection closed. Alice's link re-opens on a new allocation,
/// offers its address to Bob, and the audio is back both ways within 3 s of the relay.
#[test]
fn a_relay_restart_under_a_call_over_tcp_brings_the_audio_back_within_3_s() {
    relay_restart("fault-relay-tcp", "tcp", "relay-tcp");
}

/// The same over UDP, where nothing closes: the link notices the relay's silence, asks it
/// (a Refresh), hears that the allocation is gone (437) and allocates again.
#[test]
fn a_relay_restart_under_a_call_over_udp_brings_the_audio_back_within_3_s() {
    relay_restart("fault-relay-udp", "udp", "relay-udp");
}

fn relay_restart(label: &str, transport: &str, route: &str) {
    if homeline_lab::skip_unless_root() || homeline_lab::skip_unless_installed(&["turnserver"]) {
        return;
    }
    let Some(lab) = lab(label) else {
        return;
    };
    let k = pbx(&lab);
    let mut coturn = lab
        .start_coturn(homeline_lab::CoturnConfig::new().user("alice", "secret"))
        .unwrap();
    let registrar = format!("sip:{}", k.sip_addr().ip());
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let relay = coturn.addr();
    let network = format!(
        "force_relay = true\n\n[[network.turn]]\nuri = \"turn:{}:{}?transport={transport}\"\n\
         username = \"alice\"\npassword = \"secret\"",
        relay.ip(),
        relay.port()
    );
    let alice = open_phone(
        da.path(),
        config(da.path(), "alice", &registrar, "udp", &network),
    );
    let bob = open_phone(db.path(), config(db.path(), "bob", &registrar, "udp", ""));
    let (bob_ready, bob_is_ready) = mpsc::channel();
    let (in_call, alice_in_call) = mpsc::channel();
    let (back, relay_back) = mpsc::channel::<Instant>();
    let (back_b, relay_back_b) = mpsc::channel::<Instant>();
    let (end_bob, bob_ends) = mpsc::channel::<()>();

    std::thread::scope(|scope| {
        let (back, back_b, end_bob) = (back, back_b, end_bob);
        // Bob reports where he sent before the restart, how long after it Alice's audio was
        // back, and where he sends then (the new allocation, by latching or by the re-offer).
        let b = scope.spawn(|| {
            lab.public()
                .run(|| {
                    runtime().block_on(async {
                        let (calls, mut updates, call) = answer_alice(&bob, &bob_ready).await;
                        let at = tokio::task::spawn_blocking(move || relay_back_b.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        let now = calls.list().into_iter().find(|v| v.id == call.id);
                        let before = now.as_ref().and_then(|v| v.stats.as_ref()?.remote);
                        let at_back = now.as_ref().map_or(0, received);
                        // As on Alice's side: a second of audio that came after the restart.
                        let moved = call_update(
                            &mut updates,
                            "Alice's audio through the new allocation",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| received(v) >= at_back + 100,
                        )
                        .await;
                        let moved_after = at.elapsed();
                        tokio::task::spawn_blocking(move || bob_ends.recv())
                            .await
                            .unwrap()
                            .ok();
                        bob.hangup_all(Duration::from_secs(3)).await;
                        bob.stop_registrations().await;
                        (before, moved, moved_after)
                    })
                })
                .unwrap()
        });
        assert!(bob_is_ready.recv_timeout(Duration::from_secs(60)).unwrap());
        let a = scope.spawn(|| {
            lab.client()
                .run(|| {
                    runtime().block_on(async {
                        let (calls, mut updates, first) =
                            call_bob(&alice, "audio from Bob through the relay").await;
                        let call = first.clone();
                        in_call.send(()).unwrap();
                        let at = tokio::task::spawn_blocking(move || relay_back.recv())
                            .await
                            .unwrap()
                            .unwrap();
                        let at_back = calls
                            .list()
                            .into_iter()
                            .find(|v| v.id == call.id)
                            .map_or(0, |v| received(&v));
                        // A second of Bob's audio beyond what the last update before could
                        // have counted: it came through the new allocation.
                        let resumed = call_update(
                            &mut updates,
                            "Bob's audio through the new allocation",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| received(v) >= at_back + 100,
                        )
                        .await;
                        let resumed_after = at.elapsed();
                        calls.hangup(&call.id).await.unwrap();
                        let ended = call_update(
                            &mut updates,
                            "the hang-up",
                            Duration::from_secs(10),
                            |v| v.id == call.id,
                            |v| v.is_ended(),
                        )
                        .await;
                        alice.stop_registrations().await;
                        (first, resumed, resumed_after, ended)
                    })
                })
                .unwrap()
        });
        alice_in_call.recv_timeout(Duration::from_secs(60)).unwrap();
        lab.restart_coturn(&mut coturn).unwrap();
        let at = Instant::now();
        back.send(at).unwrap();
        back_b.send(at).unwrap();
        let (first, resumed, resumed_after, ended) = a.join().unwrap();
        end_bob.send(()).unwrap();
        let (before, moved, moved_after) = b.join().unwrap();
        let after = moved.stats.as_ref().and_then(|s| s.remote);
        eprintln!(
            "after the relay was back: a second of Alice's audio reached Bob {moved_after:?} \
             later (he sends to {after:?}, before {before:?}), a second of his reached her \
             {resumed_after:?} later (views refresh every second)"
        );
        assert_eq!(first.media_route.as_deref(), Some(route), "{first:?}");
        assert!(
            after.is_some_and(|a| a.ip() == relay.ip()),
            "Bob sends to the relay: {after:?}"
        );
        // 3 s to come back, the second of audio asked for, and one stats period.
        for (who, took) in [
            ("Bob heard Alice", moved_after),
            ("Alice heard Bob", resumed_after),
        ] {
            assert!(
                took <= Duration::from_secs(5),
                "{who} again only after {took:?}"
            );
        }
        assert_eq!(resumed.state, CallStatus::Active, "{resumed:?}");
        assert_eq!(ended.outcome, Some(CallOutcome::Answered), "{ended:?}");
        assert!(ended.end_reason.is_none(), "{ended:?}");
    });
}
