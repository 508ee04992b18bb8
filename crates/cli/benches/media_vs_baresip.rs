//! Media benchmarks, Homeline against baresip, in the network lab (root, baresip and sipp;
//! prints `skipped: …` otherwise). No assertions: it prints figures and a table at the end.
//!
//! ```text
//! cargo bench -p homeline --bench media_vs_baresip                  # 60 s CPU window
//! cargo bench -p homeline --bench media_vs_baresip -- --secs 10     # quicker
//! cargo bench -p homeline --bench media_vs_baresip -- --only quality --loss 5 --jitter 60
//! cargo bench -p homeline --bench media_vs_baresip -- --only emodel # E-model vs PESQ
//! ```
//! Options: `--secs N` (CPU window, default 60), `--calls N` (parallel calls, default 4,
//! baresip's lab config allows 4), `--talk N` (seconds of speech in the quality runs, default
//! 20), `--loss PCT` (default 3), `--jitter MS` (default 40), `--only a,b` among `cpu`,
//! `quality`, `latency`, `emodel` (default: the first three). The Homeline under test is this
//! package's release binary; lab output (recordings, logs) goes to
//! `$CARGO_TARGET_DIR/lab-out/media-bench-*`.
//!
//! **CPU per call.** `--calls` Opus calls (48 kHz, 20 ms frames, 32 kbit/s, in-band FEC
//! expecting 10 % loss on both sides) between two phones on the public host: Homeline, one
//! `homeline call --play --record` process per call against one `homeline answer --echo`; and
//! baresip, one process placing the calls (aufile source, sndfile recording) against one
//! sending a tone in each (ausine; its aubridge echo serves one call only) and recording
//! (sndfile). Every end decodes and encodes one stream per call. After a 3 s warm-up, each process's utime+stime (`/proc/<pid>/stat`)
//! is read at the start and end of the window; the figure is CPU seconds per call per second
//! of call, in percent of one core, both ends together and each end alone.
//!
//! **Speech quality through loss and jitter.** The same speech-like signal (`--talk` s,
//! 48 kHz) is sent over Opus from phone A to phone B through [`homeline_lab::impair`]: an
//! nftables DNAT in the public namespace sends the phones' RTP to a userspace relay that
//! drops packets at random (`--loss`) and delays the rest by 0..`--jitter` ms (uniform, so
//! they reorder), with the same seed for both phones. Scores: PESQ (P.862.2 wideband and
//! P.862 narrowband) and correlation per utterance of B's recording against the signal. Where
//! each recording is taken differs: Homeline's `--record` is what it plays (after its adaptive
//! jitter buffer: late packets count as lost); baresip's is its decoder's output (sndfile
//! filter, packets in order from its fixed 100-200 ms jitter buffer, before its playout
//! buffer), which spares baresip its playout timing.
//!
//! **Added latency.** Capture to playout with no network: Homeline calls sipp's `-rtp_echo`
//! UAS on the same host (PCMU with sipp's built-in UAS, Opus with `benches/data/
//! uas_opus_echo.xml`), playing a 10 ms tone burst every 400 ms and recording what comes back,
//! which went once through Homeline's sending path (encode, packetize, RTP) and once through
//! its receiving path (jitter buffer, decode, playout). The figure is the delay of each burst,
//! once the jitter buffer has settled (after 2 s). Files are read and written on the 20 ms
//! grid the moment a frame is due, so this leaves out what only sound devices add: the 20 ms
//! a microphone takes to fill a frame and the playout queue (`DEVICE_QUEUE_MS`), printed
//! beside it as an estimate.
//!
//! **E-model calibration** (`--only emodel`): baresip sends the signal through the relay at
//! 0, 1, 3, 5 and 10 % random loss (no jitter) to `homeline answer`, with PCMU and with Opus;
//! Homeline's E-model MOS (its `--json`) beside PESQ (narrowband, the E-model's scale) of its
//! recording.
//!
//! **Soak** (`--only soak [--minutes 60] [--sample 60]`, Homeline only): one Opus call of
//! `--minutes` between two `homeline` processes through the impairment relay with 1 % loss,
//! 0-30 ms jitter and the caller's clock 100 ppm fast against the answerer's (so one direction
//! sees a fast sender and the other a slow one, see [`Impairment::drift_ppm`]). Both ends
//! play speech and record. Every `--sample` s each end's RSS (`VmRSS`) and CPU are read and
//! its `--stats-every` line (playout delay, loss, late, jitter-buffer moves) kept; a row per
//! sample is printed as it comes and written to `soak.csv`. At the end: PESQ-WB of the first
//! and the last minute in each direction. Run it as a debug build with `cargo test --bench
//! media_vs_baresip -- --only soak` to skip the release build (CPU figures then are a debug
//! build's, their trend is what counts).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use homeline_lab::impair::{Divert, Impairment, Relay};
use homeline_lab::pesq::{PesqMode, pesq_audio};
use homeline_lab::signal::{Audio, aligned, compare, compare_utterances};
use homeline_lab::{
    Baresip, BaresipConfig, Lab, PUBLIC_IP, PUBLIC_IP_2, RouterProfile, Scenario, SippConfig,
};

const HOMELINE: &str = env!("CARGO_BIN_EXE_homeline");

#[derive(Debug, Clone)]
struct Args {
    secs: u64,
    calls: usize,
    talk: u64,
    loss: f64,
    jitter_ms: u64,
    only: Vec<String>,
    minutes: u64,
    sample: u64,
}

fn args() -> Args {
    let mut a = Args {
        secs: 60,
        calls: 4,
        talk: 20,
        loss: 3.0,
        jitter_ms: 40,
        only: vec!["cpu".into(), "quality".into(), "latency".into()],
        minutes: 60,
        sample: 60,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        let num = |v: &str| v.parse::<f64>().ok();
        match argv[i].as_str() {
            "--secs" => a.secs = num(&value).map_or(a.secs, |v| v as u64),
            "--calls" => a.calls = num(&value).map_or(a.calls, |v| v as usize),
            "--talk" => a.talk = num(&value).map_or(a.talk, |v| v as u64),
            "--loss" => a.loss = num(&value).unwrap_or(a.loss),
            "--jitter" => a.jitter_ms = num(&value).map_or(a.jitter_ms, |v| v as u64),
            "--only" => a.only = value.split(',').map(str::to_owned).collect(),
            "--minutes" => a.minutes = num(&value).map_or(a.minutes, |v| v as u64),
            "--sample" => a.sample = num(&value).map_or(a.sample, |v| v as u64),
            // cargo bench passes --bench; anything else unknown is ignored.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// One line of the final table.
struct Row {
    what: String,
    homeline: String,
    baresip: String,
}

fn main() {
    let args = args();
    if homeline_lab::skip_unless_root() || homeline_lab::skip_unless_installed(&["baresip", "sipp"])
    {
        return;
    }
    let mut rows = Vec::new();
    let want = |s: &str| args.only.iter().any(|o| o == s);
    let lab = |label: &str| {
        Lab::builder(RouterProfile::Cone)
            .label(format!("media-bench-{label}"))
            .build()
            .expect("lab")
    };
    if want("cpu") {
        cpu(&lab("cpu"), &args, &mut rows);
    }
    if want("quality") {
        quality(&lab("quality"), &args, &mut rows);
    }
    if want("latency") {
        latency(&lab("latency"), &mut rows);
    }
    if want("emodel") {
        emodel(&lab("emodel"), &args, &mut rows);
    }
    if want("soak") {
        soak(&lab("soak"), &args, &mut rows);
    }
    println!("\n{:<58} {:>22} {:>22}", "", "Homeline", "baresip 1.0.0");
    for r in rows {
        println!("{:<58} {:>22} {:>22}", r.what, r.homeline, r.baresip);
    }
}

fn row(rows: &mut Vec<Row>, what: impl Into<String>, homeline: String, baresip: String) {
    rows.push(Row {
        what: what.into(),
        homeline,
        baresip,
    });
}

// ---- helpers -----------------------------------------------------------------------------

fn homeline(lab: &Lab, dir: &Path) -> Command {
    let mut cmd = lab.public().command(HOMELINE);
    cmd.env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG", "warn")
        .env("HOMELINE_LOG_DIR", dir.join("logs"))
        .arg("--config")
        .arg(dir.join("homeline.toml"));
    cmd
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn homeline")
}

fn wait(child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    let mut child = child;
    while child.try_wait().ok().flatten().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("wait")
}

fn json(out: &Output) -> serde_json::Value {
    let s = String::from_utf8_lossy(&out.stdout);
    s.lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            eprintln!(
                "no JSON from homeline: {s}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::Value::Null
        })
}

fn wait_bound(lab: &Lab, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lab.public().udp_bound().unwrap_or_default().contains(&addr) {
        assert!(Instant::now() < deadline, "{addr} never bound");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wav(lab: &Lab, name: &str, a: &Audio) -> PathBuf {
    let p = lab.out_dir().join(name);
    a.write_wav(&p).expect("write wav");
    p
}

/// Clock ticks per second for `/proc/<pid>/stat`.
fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process (all its threads), seconds.
fn cpu_secs(pid: u32, tck: f64) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after "pid (comm) ": state is field 3, utime 14, stime 15.
    let rest = s.rfind(')').map_or("", |i| &s[i + 2..]);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |k: usize| {
        f.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (get(11) + get(12)) / tck
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The Opus settings that make baresip send what Homeline sends: 32 kbit/s with in-band FEC
/// for 10 % expected loss (its channel count stays 2, as RFC 7587 names the codec).
fn baresip_opus(cfg: BaresipConfig) -> BaresipConfig {
    // (With `opus_stereo no` baresip 1.0.0 registers its codec as opus/48000/1, which is
    // not RFC 7587's name and which Homeline's opus/48000/2 does not match.)
    cfg.codecs(&["opus/48000/2"])
        .config_line("opus_bitrate 32000")
        .config_line("opus_inbandfec yes")
        .config_line("opus_packet_loss 10")
}

fn pct(v: f64) -> String {
    format!("{v:.2} %")
}

// ---- CPU ---------------------------------------------------------------------------------

fn cpu(lab: &Lab, args: &Args, rows: &mut Vec<Row>) {
    let n = args.calls.max(1);
    let warm = Duration::from_secs(3);
    let window = Duration::from_secs(args.secs.max(1));
    let call_secs = (warm + window).as_secs() + 3;
    let tck = clk_tck();
    let speech = Audio::test_signal(48000, Duration::from_secs(call_secs + 5), 61);
    let file = wav(lab, "cpu-speech-48k.wav", &speech);
    eprintln!("CPU: {n} Opus calls each, {}s window", window.as_secs());

    // Homeline: one answerer (echo), one caller process per call.
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = SocketAddr::new(PUBLIC_IP_2.into(), 5090);
    let answerer = spawn(homeline(lab, dir.path()).args([
        "answer",
        "--listen",
        &listen.to_string(),
        "--count",
        &n.to_string(),
        "--echo",
        "--json",
    ]));
    wait_bound(lab, listen);
    let callers: Vec<Child> = (0..n)
        .map(|k| {
            let rec = lab.out_dir().join(format!("cpu-homeline-heard-{k}.wav"));
            spawn(
                homeline(lab, dir.path())
                    .args(["call", &format!("sip:echo@{listen}"), "--json"])
                    .args(["--duration", &call_secs.to_string(), "--play"])
                    .arg(&file)
                    .arg("--record")
                    .arg(rec),
            )
        })
        .collect();
    std::thread::sleep(warm);
    let pids: Vec<u32> = callers.iter().map(Child::id).collect();
    for p in pids.iter().chain([answerer.id()].iter()) {
        assert_eq!(comm(*p), "homeline", "pid {p} is not homeline");
    }
    let t0 = Instant::now();
    let c0: Vec<f64> = pids.iter().map(|p| cpu_secs(*p, tck)).collect();
    let a0 = cpu_secs(answerer.id(), tck);
    std::thread::sleep(window);
    let secs = t0.elapsed().as_secs_f64();
    let c1: Vec<f64> = pids.iter().map(|p| cpu_secs(*p, tck)).collect();
    let a1 = cpu_secs(answerer.id(), tck);
    let callers_cpu: f64 = c1.iter().zip(&c0).map(|(b, a)| b - a).sum();
    let answerer_cpu = a1 - a0;
    let mut ok = 0;
    for c in callers {
        let out = wait(c, Duration::from_secs(30));
        let j = json(&out);
        if j["end_reason"] == "hung_up" && j["codec"] == "opus/48000" {
            ok += 1;
        } else {
            eprintln!("a Homeline call did not go as planned: {j}");
        }
    }
    let _ = wait(answerer, Duration::from_secs(10));
    let h_caller = 100.0 * callers_cpu / (n as f64 * secs);
    let h_answer = 100.0 * answerer_cpu / (n as f64 * secs);
    eprintln!(
        "Homeline: {ok}/{n} calls fine; callers {callers_cpu:.2} s, answerer {answerer_cpu:.2} s \
         of CPU in {secs:.1} s"
    );

    // baresip: alice places the calls, bob sends a tone in each (its echo device is one
    // aubridge for all calls: it would echo only one of them).
    let bob = lab
        .start_baresip(baresip_opus(BaresipConfig::new("bob").tone(440).port(5060)))
        .expect("baresip bob");
    let alice = lab
        .start_baresip(baresip_opus(
            BaresipConfig::new("alice")
                .ip(PUBLIC_IP)
                .port(5062)
                .play(&file),
        ))
        .expect("baresip alice");
    for _ in 0..n {
        alice.dial(&bob.uri()).expect("dial");
        alice
            .wait_established(Duration::from_secs(10))
            .expect("established");
        // sndfile names its recordings by the second: one call per second keeps them apart.
        std::thread::sleep(Duration::from_millis(1100));
    }
    std::thread::sleep(warm);
    let (pa, pb) = (baresip_pid(&alice), baresip_pid(&bob));
    let t0 = Instant::now();
    let (a0, b0) = (cpu_secs(pa, tck), cpu_secs(pb, tck));
    std::thread::sleep(window);
    let secs = t0.elapsed().as_secs_f64();
    let (a1, b1) = (cpu_secs(pa, tck), cpu_secs(pb, tck));
    eprintln!(
        "baresip: {} of alice's calls established; alice {:.2} s, bob {:.2} s of CPU in {secs:.1} s",
        alice
            .events()
            .iter()
            .filter(|e| e.kind == "CALL_ESTABLISHED")
            .count(),
        a1 - a0,
        b1 - b0
    );
    let b_caller = 100.0 * (a1 - a0) / (n as f64 * secs);
    let b_answer = 100.0 * (b1 - b0) / (n as f64 * secs);
    drop(alice);
    drop(bob);
    row(
        rows,
        format!("CPU per Opus call, both ends ({n} calls, % of a core)"),
        pct(h_caller + h_answer),
        pct(b_caller + b_answer),
    );
    row(
        rows,
        "  caller end (plays a file, records)",
        pct(h_caller),
        pct(b_caller),
    );
    row(
        rows,
        "  answering end (Homeline echoes, baresip sends a tone)",
        pct(h_answer),
        pct(b_answer),
    );
}

fn baresip_pid(b: &Baresip) -> u32 {
    // The lab starts it through `ip netns exec`, which execs baresip in place.
    let pid = b.pid();
    assert_eq!(comm(pid), "baresip", "pid {pid}");
    pid
}

// ---- quality -----------------------------------------------------------------------------

struct Scores {
    pesq_wb: Option<f64>,
    pesq_nb: Option<f64>,
    correlation: f64,
    note: String,
}

fn score(sent: &Audio, got: &Audio) -> Scores {
    let c = compare(sent, got);
    let u = compare_utterances(sent, got, 200.0);
    let (r, d) = aligned(sent, got, c.delay_ms.unwrap_or(0.0));
    let (r, d) = (r.delayed(-500.0), d.delayed(-500.0));
    let wb = pesq_audio(&r, &d, PesqMode::Wideband).ok().flatten();
    let nb = pesq_audio(&r, &d, PesqMode::Narrowband).ok().flatten();
    eprintln!("  whole: {c}\n  utterances: {u}");
    Scores {
        pesq_wb: wb,
        pesq_nb: nb,
        correlation: u.mean_correlation,
        note: format!("{u}"),
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a (no PESQ)".into(), |v| format!("{v:.2}"))
}

fn quality(lab: &Lab, args: &Args, rows: &mut Vec<Row>) {
    let imp = Impairment::loss_jitter(args.loss / 100.0, Duration::from_millis(args.jitter_ms), 7);
    let talk = Duration::from_secs(args.talk.max(5));
    let speech = Audio::test_signal(48000, talk, 71);
    let file = wav(lab, "quality-speech-48k.wav", &speech);
    eprintln!(
        "Quality: {:.1} % loss, 0..{} ms jitter, {} s of speech, Opus A → B",
        args.loss,
        args.jitter_ms,
        talk.as_secs()
    );

    // Homeline → Homeline.
    let h = {
        let relay = Relay::start(
            lab.public(),
            &Divert {
                a: PUBLIC_IP,
                b: PUBLIC_IP_2,
                skip_ports: vec![5090],
                only_ports: vec![],
            },
            imp,
        )
        .expect("relay");
        let dir = tempfile::tempdir().expect("tempdir");
        let listen = SocketAddr::new(PUBLIC_IP_2.into(), 5090);
        let heard = lab.out_dir().join("quality-homeline-heard.wav");
        let answerer = spawn(
            homeline(lab, dir.path())
                .args(["answer", "--listen", &listen.to_string(), "--json"])
                .arg("--record")
                .arg(&heard),
        );
        wait_bound(lab, listen);
        let out = homeline(lab, dir.path())
            .args(["call", &format!("sip:b@{listen}"), "--json", "--duration"])
            .arg((talk.as_secs() + 1).to_string())
            .arg("--play")
            .arg(&file)
            .output()
            .expect("homeline call");
        let caller = json(&out);
        let b = json(&wait(answerer, Duration::from_secs(10)));
        eprintln!(
            "Homeline relay: {:?}\n  caller: {caller}\n  answerer: {b}",
            relay.stats()
        );
        let got = Audio::read_wav(&heard).expect("recording");
        let s = score(&speech, &got);
        (s, b)
    };

    // baresip → baresip, RTP on fixed ports so that RTCP (port + 1) is left alone.
    let bsc = {
        let relay = Relay::start(
            lab.public(),
            &Divert {
                a: PUBLIC_IP,
                b: PUBLIC_IP_2,
                skip_ports: vec![5060, 5062],
                only_ports: vec![20000, 22000],
            },
            imp,
        )
        .expect("relay");
        let bob = lab
            .start_baresip(baresip_opus(
                BaresipConfig::new("bob").port(5060).rtp_ports(22000, 22001),
            ))
            .expect("bob");
        let alice = lab
            .start_baresip(baresip_opus(
                BaresipConfig::new("alice")
                    .ip(PUBLIC_IP)
                    .port(5062)
                    .rtp_ports(20000, 20001)
                    .play(&file),
            ))
            .expect("alice");
        alice.dial(&bob.uri()).expect("dial");
        alice
            .wait_established(Duration::from_secs(10))
            .expect("established");
        alice
            .wait_closed(talk + Duration::from_secs(10))
            .expect("closed");
        let rec = bob
            .wait_recording(Duration::from_secs(10))
            .expect("recording");
        eprintln!("baresip relay: {:?}", relay.stats());
        let got = Audio::read_wav(&rec).expect("recording");
        score(&speech, &got)
    };
    let (hs, hj) = h;
    let what = format!(
        "Opus through {:.0} % loss, 0-{} ms jitter",
        args.loss, args.jitter_ms
    );
    row(
        rows,
        format!("{what}: PESQ-WB"),
        fmt_opt(hs.pesq_wb),
        fmt_opt(bsc.pesq_wb),
    );
    row(rows, "  PESQ-NB", fmt_opt(hs.pesq_nb), fmt_opt(bsc.pesq_nb));
    row(
        rows,
        "  correlation per utterance (mean)",
        format!("{:.3}", hs.correlation),
        format!("{:.3}", bsc.correlation),
    );
    row(
        rows,
        "  jitter-buffer delay (ms)",
        format!("{}", hj["playout_delay_ms"]),
        "100-200 (fixed 5-10 frames)".into(),
    );
    row(
        rows,
        "  Homeline: loss/late %, FEC, concealed, E-model MOS",
        format!(
            "{}/{} {} {} {}",
            hj["loss_pct"], hj["late_pct"], hj["fec_recovered"], hj["concealed"], hj["mos"]
        ),
        String::new(),
    );
    eprintln!("Homeline: {}\nbaresip: {}", hs.note, bsc.note);
}

// ---- latency -----------------------------------------------------------------------------

/// 10 ms Hann-windowed 1 kHz bursts every 400 ms, at `rate`.
fn bursts(rate: u32, secs: u64) -> (Audio, Vec<f64>) {
    let n = rate as usize * secs as usize;
    let mut samples = vec![0f32; n];
    let burst = rate as usize / 100;
    let mut onsets = Vec::new();
    let mut at = rate as usize / 5;
    while at + burst < n {
        for i in 0..burst {
            let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / burst as f64).cos();
            let s = (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(rate)).sin();
            samples[at + i] = (0.5 * w * s) as f32;
        }
        onsets.push(at as f64 / f64::from(rate));
        at += rate as usize * 2 / 5;
    }
    (Audio { rate, samples }, onsets)
}

/// When each burst starts in `got` (seconds): the first sample above a third of the burst's
/// peak, searched from `t` to `t + 350 ms` for each sent onset `t`.
fn onsets_in(got: &Audio, sent: &[f64], sent_audio: &Audio) -> Vec<Option<f64>> {
    let r = f64::from(got.rate);
    // The sent burst's own threshold-crossing offset from its start, to subtract.
    let rs = f64::from(sent_audio.rate);
    let own = {
        let i0 = (sent[0] * rs) as usize;
        let w = &sent_audio.samples[i0..(i0 + sent_audio.rate as usize / 100)];
        let peak = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        w.iter().position(|v| v.abs() >= peak / 3.0).unwrap_or(0) as f64 / rs
    };
    sent.iter()
        .map(|&t| {
            let a = (t * r) as usize;
            let b = (((t + 0.35) * r) as usize).min(got.samples.len());
            let w = got.samples.get(a..b)?;
            let peak = w.iter().fold(0f32, |m, v| m.max(v.abs()));
            if peak < 0.02 {
                return None;
            }
            let i = w.iter().position(|v| v.abs() >= peak / 3.0)?;
            Some(t + i as f64 / r - own)
        })
        .collect()
}

fn latency_through_echo(lab: &Lab, name: &str, scenario: SippConfig, rate: u32) -> Vec<f64> {
    let mut sipp = lab.start_sipp(scenario.calls(1)).expect("sipp");
    let (clicks, onsets) = bursts(rate, 8);
    let file = wav(lab, &format!("latency-{name}-clicks.wav"), &clicks);
    let rec = lab.out_dir().join(format!("latency-{name}-heard.wav"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = homeline(lab, dir.path())
        .args(["call", &sipp.uri(), "--duration", "9", "--json", "--play"])
        .arg(&file)
        .arg("--record")
        .arg(&rec)
        .output()
        .expect("homeline call");
    let j = json(&out);
    eprintln!("latency {name}: {j}");
    let _ = sipp.wait_exit(Duration::from_secs(5));
    let got = Audio::read_wav(&rec).expect("recording");
    let found = onsets_in(&got, &onsets, &clicks);
    let delays: Vec<f64> = onsets
        .iter()
        .zip(&found)
        .filter_map(|(t, f)| f.map(|f| (t, (f - t) * 1000.0)))
        .inspect(|(t, d)| eprintln!("  burst at {t:.1} s: {d:.1} ms"))
        .filter(|(t, _)| **t >= 2.0)
        .map(|(_, d)| d)
        .collect();
    delays
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn latency(lab: &Lab, rows: &mut Vec<Row>) {
    let mut pcmu = latency_through_echo(lab, "pcmu", SippConfig::uas_echo(), 8000);
    let scenario = SippConfig::scenario(
        "opus-echo",
        Scenario::File(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/uas_opus_echo.xml"),
        ),
    )
    .rtp_echo(true);
    let mut opus = latency_through_echo(lab, "opus", scenario, 48000);
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{lo:.1}-{hi:.1}")
    };
    let (rp, ro) = (range(&pcmu), range(&opus));
    let (mp, mo) = (median(&mut pcmu), median(&mut opus));
    let device = 20.0 + f64::from(homeline_phone::media::audio::DEVICE_QUEUE_MS);
    row(
        rows,
        "Added latency, files, no network, PCMU (median, range ms)",
        format!("{mp:.1} ({rp})"),
        String::new(),
    );
    row(
        rows,
        "  Opus (median, range ms)",
        format!("{mo:.1} ({ro})"),
        String::new(),
    );
    row(
        rows,
        format!(
            "  + with sound devices: frame fill 20 + playout queue {} ms",
            device - 20.0
        ),
        format!("{:.1} / {:.1}", mp + device, mo + device),
        String::new(),
    );
}

// ---- E-model -----------------------------------------------------------------------------

fn emodel(lab: &Lab, args: &Args, rows: &mut Vec<Row>) {
    let talk = Duration::from_secs(args.talk.clamp(8, 20));
    for (codec, rate, fec) in [
        ("PCMU/8000/1", 8000, false),
        ("opus/48000/2", 48000, true),
        ("opus/48000/2", 48000, false),
    ] {
        let codec_name = match (rate, fec) {
            (8000, _) => "PCMU".to_owned(),
            (_, true) => "Opus, FEC".to_owned(),
            _ => "Opus, no FEC".to_owned(),
        };
        let speech = Audio::test_signal(rate, talk, 81);
        let file = wav(lab, &format!("emodel-{rate}.wav"), &speech);
        for loss in [0.0, 1.0, 3.0, 5.0, 10.0] {
            let relay = Relay::start(
                lab.public(),
                &Divert {
                    a: PUBLIC_IP,
                    b: PUBLIC_IP_2,
                    // baresip's RTCP (port + 1, no rtcp-mux) goes around the relay.
                    skip_ports: vec![5062, 5090, 20001],
                    only_ports: vec![],
                },
                Impairment::loss_jitter(loss / 100.0, Duration::ZERO, 11),
            )
            .expect("relay");
            let dir = tempfile::tempdir().expect("tempdir");
            let listen = SocketAddr::new(PUBLIC_IP_2.into(), 5090);
            let heard = lab
                .out_dir()
                .join(format!("emodel-{rate}-{loss}-heard.wav"));
            let answerer = spawn(
                homeline(lab, dir.path())
                    .args(["answer", "--listen", &listen.to_string(), "--json"])
                    .arg("--record")
                    .arg(&heard),
            );
            wait_bound(lab, listen);
            let mut cfg = BaresipConfig::new("alice")
                .ip(PUBLIC_IP)
                .port(5062)
                .rtp_ports(20000, 20001)
                .play(&file);
            cfg = match (rate, fec) {
                (48000, true) => baresip_opus(cfg),
                (48000, false) => cfg
                    .codecs(&[codec])
                    .config_line("opus_bitrate 32000")
                    .config_line("opus_inbandfec no"),
                _ => cfg.codecs(&[codec]),
            };
            let alice = lab.start_baresip(cfg).expect("alice");
            alice.dial(&format!("sip:homeline@{listen}")).expect("dial");
            let j = json(&wait(answerer, talk + Duration::from_secs(20)));
            drop(alice);
            drop(relay);
            let got = Audio::read_wav(&heard).expect("recording");
            let c = compare(&speech, &got);
            let (r, d) = aligned(&speech, &got, c.delay_ms.unwrap_or(0.0));
            let (r, d) = (r.delayed(-500.0), d.delayed(-500.0));
            let nb = pesq_audio(&r, &d, PesqMode::Narrowband).ok().flatten();
            let wb = (rate == 48000)
                .then(|| pesq_audio(&r, &d, PesqMode::Wideband).ok().flatten())
                .flatten();
            eprintln!(
                "E-model {codec_name} at {loss} %: E-model MOS {} (loss {} late {} concealed {} fec {}), \
                 PESQ-NB {} PESQ-WB {}",
                j["mos"],
                j["loss_pct"],
                j["late_pct"],
                j["concealed"],
                j["fec_recovered"],
                fmt_opt(nb),
                fmt_opt(wb)
            );
            row(
                rows,
                format!(
                    "E-model vs PESQ-NB, {codec_name}, {loss} % loss (measured {} %)",
                    j["loss_pct"]
                ),
                format!("{} vs {}", j["mos"], fmt_opt(nb)),
                String::new(),
            );
        }
    }
}

// ---- soak --------------------------------------------------------------------------------

/// The soak's path: issue 11's "1 % loss and jitter", and a drifting clock.
const SOAK_LOSS: f64 = 0.01;
const SOAK_JITTER: Duration = Duration::from_millis(30);
const SOAK_DRIFT_PPM: f64 = 100.0;
/// The speech is this long a loop (a whole hour of it would take minutes to make).
const SOAK_LOOP: Duration = Duration::from_secs(125);

/// Resident memory of a process, MB.
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// `secs` of speech: `SOAK_LOOP` of [`Audio::test_signal`] over and over.
fn looped_speech(rate: u32, secs: u64, seed: u64) -> Audio {
    let one = Audio::test_signal(rate, SOAK_LOOP, seed);
    let n = (u64::from(rate) * secs) as usize;
    Audio {
        rate,
        samples: one.samples.iter().copied().cycle().take(n).collect(),
    }
}

/// `from..to` seconds of `a`.
fn part(a: &Audio, from: f64, to: f64) -> Audio {
    let r = f64::from(a.rate);
    let i = ((from * r) as usize).min(a.samples.len());
    let j = ((to * r) as usize).clamp(i, a.samples.len());
    Audio {
        rate: a.rate,
        samples: a.samples[i..j].to_vec(),
    }
}

/// PESQ-WB of the minute of `sent` from `from` s against the recording, found within 2 s
/// after it; the mean of three 20 s pieces (P.862's range of lengths). Also the delay found.
fn minute_pesq(sent: &Audio, got: &Audio, from: f64) -> (Option<f64>, Option<f64>) {
    let reference = part(sent, from, from + 60.0);
    let received = part(got, from, from + 62.0);
    let c = compare(&reference, &received);
    let Some(delay) = c.delay_ms else {
        return (None, None);
    };
    let (r, d) = aligned(&reference, &received, delay);
    let scores: Vec<f64> = (0..3)
        .filter_map(|k| {
            let (a, b) = (f64::from(k) * 20.0, f64::from(k + 1) * 20.0);
            pesq_audio(&part(&r, a, b), &part(&d, a, b), PesqMode::Wideband)
                .ok()
                .flatten()
        })
        .collect();
    let mean = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
    (mean, Some(delay))
}

/// Collects a `homeline` process's JSON lines (`--stats-every` lines and the final report).
fn json_lines(
    child: &mut Child,
) -> (
    Arc<Mutex<Vec<serde_json::Value>>>,
    std::thread::JoinHandle<()>,
) {
    use std::io::BufRead;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().expect("piped stdout");
    let keep = Arc::clone(&lines);
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                keep.lock().expect("lines").push(v);
            }
        }
    });
    (lines, reader)
}

fn last_stats(lines: &Mutex<Vec<serde_json::Value>>) -> serde_json::Value {
    lines
        .lock()
        .expect("lines")
        .iter()
        .rev()
        .find(|v| v["event"] == "stats")
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

fn soak(lab: &Lab, args: &Args, rows: &mut Vec<Row>) {
    let minutes = args.minutes.max(2);
    let call_secs = minutes * 60;
    let sample = Duration::from_secs(args.sample.max(1));
    let tck = clk_tck();
    let imp = Impairment::loss_jitter(SOAK_LOSS, SOAK_JITTER, 11)
        .with_drift(SOAK_DRIFT_PPM, Duration::from_secs(call_secs + 60));
    eprintln!(
        "Soak: {minutes} min, {:.0} % loss, 0-{} ms jitter, caller's clock {SOAK_DRIFT_PPM:+} ppm",
        SOAK_LOSS * 100.0,
        SOAK_JITTER.as_millis()
    );
    let speech_a = looped_speech(16000, call_secs + 10, 81);
    let speech_b = looped_speech(16000, call_secs + 10, 82);
    let (file_a, file_b) = (
        wav(lab, "soak-a-says.wav", &speech_a),
        wav(lab, "soak-b-says.wav", &speech_b),
    );
    let (heard_a, heard_b) = (
        lab.out_dir().join("soak-a-heard.wav"),
        lab.out_dir().join("soak-b-heard.wav"),
    );
    let relay = Relay::start(
        lab.public(),
        &Divert {
            a: PUBLIC_IP,
            b: PUBLIC_IP_2,
            skip_ports: vec![5090],
            only_ports: vec![],
        },
        imp,
    )
    .expect("relay");
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = SocketAddr::new(PUBLIC_IP_2.into(), 5090);
    let every = sample.as_secs().to_string();
    let mut answerer = spawn(
        homeline(lab, dir.path())
            .args(["answer", "--listen", &listen.to_string(), "--json"])
            .args(["--stats-every", &every, "--play"])
            .arg(&file_b)
            .arg("--record")
            .arg(&heard_b),
    );
    wait_bound(lab, listen);
    let mut caller = spawn(
        homeline(lab, dir.path())
            .args(["call", &format!("sip:b@{listen}"), "--json", "--duration"])
            .arg(call_secs.to_string())
            .args(["--stats-every", &every, "--play"])
            .arg(&file_a)
            .arg("--record")
            .arg(&heard_a),
    );
    let (a_lines, a_reader) = json_lines(&mut caller);
    let (b_lines, b_reader) = json_lines(&mut answerer);
    let pids = [caller.id(), answerer.id()];
    let csv_path = lab.out_dir().join("soak.csv");
    let mut csv = String::from(
        "minute,caller_rss_mb,answerer_rss_mb,caller_cpu_pct,answerer_cpu_pct,\
         a_to_b_playout_ms,b_to_a_playout_ms,a_to_b_loss_pct,b_to_a_loss_pct,\
         a_to_b_late_pct,b_to_a_late_pct,a_to_b_shrinks,a_to_b_stretches,\
         b_to_a_shrinks,b_to_a_stretches\n",
    );
    eprintln!("{}", csv.trim_end());
    let t0 = Instant::now();
    let mut cpu_before = pids.map(|p| cpu_secs(p, tck));
    let mut first: Option<(f64, f64)> = None;
    let mut last = (f64::NAN, f64::NAN);
    let mut cpu_pcts: Vec<[f64; 2]> = Vec::new();
    let mut playout: Vec<[f64; 2]> = Vec::new();
    // Samples while the call is up (not as it is torn down).
    while t0.elapsed() + sample < Duration::from_secs(call_secs) {
        std::thread::sleep(sample);
        if caller.try_wait().ok().flatten().is_some() {
            break;
        }
        let cpu_now = pids.map(|p| cpu_secs(p, tck));
        let pct = |k: usize| 100.0 * (cpu_now[k] - cpu_before[k]) / sample.as_secs_f64();
        let cpu = [pct(0), pct(1)];
        cpu_before = cpu_now;
        let rss = pids.map(rss_mb);
        let (ab, ba) = (last_stats(&b_lines), last_stats(&a_lines));
        let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        let line = format!(
            "{:.1},{:.1},{:.1},{:.2},{:.2},{},{},{},{},{},{},{},{},{},{}",
            t0.elapsed().as_secs_f64() / 60.0,
            rss[0],
            rss[1],
            cpu[0],
            cpu[1],
            f(&ab, "playout_delay_ms"),
            f(&ba, "playout_delay_ms"),
            f(&ab, "loss_pct"),
            f(&ba, "loss_pct"),
            f(&ab, "late_pct"),
            f(&ba, "late_pct"),
            f(&ab, "shrinks"),
            f(&ab, "stretches"),
            f(&ba, "shrinks"),
            f(&ba, "stretches"),
        );
        eprintln!("{line}");
        csv.push_str(&line);
        csv.push('\n');
        let _ = std::fs::write(&csv_path, &csv);
        // Memory from the first minute on: what a call sets up at its start (buffers, the
        // codec, the jitter buffer's first growth) is not growth.
        if first.is_none() && t0.elapsed() >= Duration::from_secs(60) {
            first = Some((rss[0], rss[1]));
        }
        last = (rss[0], rss[1]);
        cpu_pcts.push(cpu);
        playout.push([f(&ab, "playout_delay_ms"), f(&ba, "playout_delay_ms")]);
    }
    // The caller hangs up `call_secs` after the answer: wait for that, not a fixed while (a
    // killed caller leaves no BYE and unfinished recordings).
    let left = Duration::from_secs(call_secs).saturating_sub(t0.elapsed());
    let caller_out = wait(caller, left + Duration::from_secs(30));
    let answerer_out = wait(answerer, Duration::from_secs(30));
    let _ = (a_reader.join(), b_reader.join());
    let end_a = a_lines
        .lock()
        .expect("lines")
        .last()
        .cloned()
        .unwrap_or_default();
    let end_b = b_lines
        .lock()
        .expect("lines")
        .last()
        .cloned()
        .unwrap_or_default();
    eprintln!(
        "caller ({}): {end_a}\nanswerer ({}): {end_b}\nrelay: {:?}",
        caller_out.status,
        answerer_out.status,
        relay.stats()
    );
    let got_b = Audio::read_wav(&heard_b).expect("B's recording");
    let got_a = Audio::read_wav(&heard_a).expect("A's recording");
    let end = call_secs as f64 - 63.0;
    let (ab_first, ab_d0) = minute_pesq(&speech_a, &got_b, 0.5);
    let (ab_last, ab_d1) = minute_pesq(&speech_a, &got_b, end);
    let (ba_first, ba_d0) = minute_pesq(&speech_b, &got_a, 0.5);
    let (ba_last, ba_d1) = minute_pesq(&speech_b, &got_a, end);
    eprintln!(
        "end-to-end delay of the recordings, first → last minute: A→B {ab_d0:?} → {ab_d1:?} ms, \
         B→A {ba_d0:?} → {ba_d1:?} ms"
    );
    let what = format!(
        "Soak {minutes} min, {:.0} % loss, 0-{} ms jitter, {SOAK_DRIFT_PPM} ppm",
        SOAK_LOSS * 100.0,
        SOAK_JITTER.as_millis()
    );
    let span = |v: &[[f64; 2]], k: usize| {
        format!(
            "{:.0} → {:.0}",
            v.first().map_or(f64::NAN, |x| x[k]),
            v.last().map_or(f64::NAN, |x| x[k])
        )
    };
    row(rows, what, String::new(), String::new());
    row(
        rows,
        "  playout delay A→B (fast sender), first → last sample, ms",
        span(&playout, 0),
        String::new(),
    );
    row(
        rows,
        "  playout delay B→A (slow sender), first → last sample, ms",
        span(&playout, 1),
        String::new(),
    );
    row(
        rows,
        "  jitter-buffer shrinks/stretches over the call A→B, B→A",
        format!(
            "{}/{} {}/{}",
            end_b["shrinks"], end_b["stretches"], end_a["shrinks"], end_a["stretches"]
        ),
        String::new(),
    );
    row(
        rows,
        "  loss/late % A→B, B→A",
        format!(
            "{}/{} {}/{}",
            end_b["loss_pct"], end_b["late_pct"], end_a["loss_pct"], end_a["late_pct"]
        ),
        String::new(),
    );
    let (f0, f1) = first.unwrap_or((f64::NAN, f64::NAN));
    row(
        rows,
        "  RSS caller, answerer: minute 1 → end (MB)",
        format!("{f0:.1} → {:.1}, {f1:.1} → {:.1}", last.0, last.1),
        String::new(),
    );
    row(
        rows,
        "  CPU caller, first → last sample (% of a core)",
        span(&cpu_pcts, 0),
        String::new(),
    );
    row(
        rows,
        "  CPU answerer, first → last sample (% of a core)",
        span(&cpu_pcts, 1),
        String::new(),
    );
    row(
        rows,
        "  PESQ-WB A→B first, last minute",
        format!("{} {}", fmt_opt(ab_first), fmt_opt(ab_last)),
        String::new(),
    );
    row(
        rows,
        "  PESQ-WB B→A first, last minute",
        format!("{} {}", fmt_opt(ba_first), fmt_opt(ba_last)),
        String::new(),
    );
}
