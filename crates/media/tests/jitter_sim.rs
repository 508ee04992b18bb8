//! The adaptive jitter buffer on a simulated network (seeded, deterministic): the numbers
//! asserted here are the buffer's specification.

#![allow(clippy::unwrap_used)] // test code

mod netsim;

use std::time::Duration;

use homeline_media::jitter::JitterConfig;
use netsim::{Jitter, Path, Phase, Scenario, minutes, run};

fn path(latency_ms: f64, jitter: Jitter, loss: f64, duplicate: f64) -> Path {
    Path {
        latency_ms,
        jitter,
        loss,
        duplicate,
    }
}

fn scenario(seed: u64, drift_ppm: f64, phases: Vec<Phase>) -> Scenario {
    Scenario {
        seed,
        clock_rate: 48_000,
        drift_ppm,
        phases,
        jitter_config: JitterConfig::new(48_000),
        restart_at_frame: None,
    }
}

fn phase(d: Duration, p: Path) -> Phase {
    Phase {
        duration: d,
        path: p,
    }
}

fn assert_in_order(o: &netsim::Outcome) {
    let played: Vec<u64> = o.pops.iter().filter_map(|p| p.frame).collect();
    assert!(
        played.windows(2).all(|w| w[0] < w[1]),
        "frames out of order or repeated"
    );
}

#[test]
fn delay_converges_to_the_jitter_p95() {
    for (seed, mean) in [(1, 5.0), (2, 10.0), (3, 20.0)] {
        let j = Jitter::Exponential(mean);
        let o = run(&scenario(
            seed,
            0.0,
            vec![phase(minutes(3), path(40.0, j, 0.02, 0.01))],
        ));
        assert_in_order(&o);
        let delay = o.mean(Duration::from_secs(30), minutes(3), |p| {
            Some(p.playout_delay_ms)
        });
        let p95 = j.p95();
        println!(
            "mean {mean} ms: p95 {p95:.1}, playout delay {delay:.1}, late {:.2}%, {:?}",
            o.late_rate() * 100.0,
            o.buffer.stats()
        );
        assert!(
            delay > p95 - 2.0 && delay < p95 + 20.0,
            "delay {delay:.1} vs p95 {p95:.1}"
        );
        assert!(o.late_rate() < 0.04, "late {:.2}%", o.late_rate() * 100.0);
    }
}

#[test]
fn low_jitter_plays_at_the_minimum_delay() {
    let o = run(&scenario(
        4,
        0.0,
        vec![phase(
            minutes(1),
            path(30.0, Jitter::Uniform(2.0), 0.0, 0.0),
        )],
    ));
    assert_in_order(&o);
    let delay = o.mean(Duration::from_secs(10), minutes(1), |p| {
        Some(p.playout_delay_ms)
    });
    println!("low jitter: delay {delay:.1} {:?}", o.buffer.stats());
    assert!((20.0..=42.0).contains(&delay), "delay {delay:.1}");
    assert_eq!(o.buffer.stats().late, 0);
}

#[test]
fn follows_jitter_up_and_down() {
    let o = run(&scenario(
        5,
        0.0,
        vec![
            phase(minutes(1), path(40.0, Jitter::Exponential(2.0), 0.0, 0.0)),
            phase(minutes(1), path(40.0, Jitter::Exponential(30.0), 0.0, 0.0)),
            phase(minutes(1), path(40.0, Jitter::Exponential(2.0), 0.0, 0.0)),
        ],
    ));
    assert_in_order(&o);
    let calm = o.mean(Duration::from_secs(40), minutes(1), |p| {
        Some(p.playout_delay_ms)
    });
    let storm = o.mean(Duration::from_secs(100), minutes(2), |p| {
        Some(p.playout_delay_ms)
    });
    let after = o.mean(Duration::from_secs(150), minutes(3), |p| {
        Some(p.playout_delay_ms)
    });
    println!(
        "calm {calm:.1} storm {storm:.1} after {after:.1} {:?}",
        o.buffer.stats()
    );
    assert!(calm < 35.0, "calm {calm:.1}");
    assert!(
        storm > 80.0 && storm < 130.0,
        "storm {storm:.1} (p95 {:.1})",
        Jitter::Exponential(30.0).p95()
    );
    assert!(after < 35.0, "after {after:.1}");
}

#[test]
fn delay_is_capped_at_300_ms() {
    let o = run(&scenario(
        6,
        0.0,
        vec![phase(
            minutes(1),
            path(40.0, Jitter::Exponential(200.0), 0.0, 0.0),
        )],
    ));
    assert_in_order(&o);
    let max_target = o.pops.iter().map(|p| p.target_delay_ms).fold(0.0, f64::max);
    assert!(max_target <= 300.0, "target {max_target}");
    let delay = o.mean(Duration::from_secs(20), minutes(1), |p| {
        Some(p.playout_delay_ms)
    });
    assert!(delay < 330.0, "delay {delay:.1}");
}

/// A sender clock 100 ppm fast (or slow) for one hour: the end-to-end delay in the last
/// minute equals the one at the start; the buffer removed (added) one frame per ~200 s.
#[test]
fn no_growing_delay_over_an_hour_of_drift() {
    for drift in [100.0, -100.0] {
        let o = run(&scenario(
            7,
            drift,
            vec![phase(
                minutes(60),
                path(40.0, Jitter::Exponential(5.0), 0.01, 0.0),
            )],
        ));
        assert_in_order(&o);
        let early = o.mean(minutes(1), minutes(2), |p| p.e2e_ms);
        let late = o.mean(minutes(59), minutes(60), |p| p.e2e_ms);
        let st = o.buffer.stats();
        println!("drift {drift:+} ppm: e2e {early:.1} → {late:.1} ms, {st:?}");
        assert!(
            (late - early).abs() < 10.0,
            "e2e delay {early:.1} → {late:.1} ms"
        );
        // 100 ppm over 3600 s = 360 ms = 18 frames to absorb.
        let (needed, other) = if drift > 0.0 {
            (st.shrinks as i64 - st.stretches as i64, st.stretches)
        } else {
            (st.stretches as i64 - st.shrinks as i64, st.shrinks)
        };
        assert!((15..=21).contains(&needed), "net adjustments {needed}");
        assert!(other < 60, "churn: {other} adjustments the wrong way");
        assert!(o.late_rate() < 0.03, "late {:.2}%", o.late_rate() * 100.0);
    }
}

/// With Opus FEC, a single lost packet is recovered from the next one when it is there.
#[test]
fn fec_is_requested_for_single_losses() {
    let mut s = scenario(
        8,
        0.0,
        vec![phase(
            minutes(5),
            path(40.0, Jitter::Uniform(10.0), 0.03, 0.0),
        )],
    );
    s.jitter_config.fec = true;
    let o = run(&s);
    assert_in_order(&o);
    let lost = &o.lost_in_network;
    let single: Vec<u64> = lost
        .iter()
        .copied()
        .filter(|f| !lost.contains(&(f + 1)) && !lost.contains(&(f.wrapping_sub(1))))
        .collect();
    let fec: Vec<u64> = o.pops.iter().filter_map(|p| p.fec_for).collect();
    let recovered = single.iter().filter(|f| fec.contains(f)).count();
    println!(
        "{} single losses, {recovered} recovered by FEC, {:?}",
        single.len(),
        o.buffer.stats()
    );
    assert!(single.len() > 200);
    assert!(
        recovered as f64 >= 0.95 * single.len() as f64,
        "{recovered}/{}",
        single.len()
    );
    // FEC is only ever asked for frames that are really missing.
    assert!(
        fec.iter()
            .all(|f| lost.contains(f) || !o.pops.iter().any(|p| p.frame == Some(*f)))
    );
}

/// The sender restarts (new SSRC, new timeline) in the middle of the call: the buffer resets
/// once and plays the new stream within a few frames.
#[test]
fn sender_restart_resets_once() {
    let mut s = scenario(
        9,
        0.0,
        vec![phase(
            minutes(1),
            path(40.0, Jitter::Exponential(5.0), 0.0, 0.0),
        )],
    );
    s.restart_at_frame = Some(1500);
    let o = run(&s);
    assert_eq!(o.buffer.stats().resets, 1);
    let first_new = o
        .pops
        .iter()
        .find(|p| p.frame.is_some_and(|f| f >= 1500))
        .unwrap();
    let gap = first_new.at.as_secs_f64() - 30.0;
    assert!(
        gap < 0.2,
        "new stream plays {gap:.3} s after its first frame was sent"
    );
    let played_after = o
        .pops
        .iter()
        .filter(|p| p.frame.is_some_and(|f| f >= 1500))
        .count();
    assert!(played_after > 1400);
}

/// A clean network as a loopback call sees it: no loss, and only the few milliseconds by which
/// a sender and a player that wake every 5 ms miss the 20 ms grid. The buffer must not move
/// at all in a minute: a shrink skips 20 ms of speech and a stretch inserts 20 ms of
/// concealment, both audible and both costing PESQ.
#[test]
fn a_clean_network_never_moves_the_buffer() {
    for seed in 10..20 {
        let o = run(&scenario(
            seed,
            0.0,
            vec![phase(minutes(1), path(0.2, Jitter::Uniform(9.0), 0.0, 0.0))],
        ));
        assert_in_order(&o);
        let st = o.buffer.stats();
        assert_eq!(
            (st.shrinks, st.stretches, st.late, st.missing),
            (0, 0, 0, 0),
            "seed {seed}: {st:?}"
        );
        let delay = o.mean(Duration::from_secs(1), minutes(1), |p| {
            Some(p.playout_delay_ms)
        });
        assert!(delay < 40.0, "seed {seed}: delay {delay:.1} ms");
    }
}
