//! Cost of the per-frame audio work: resampling one 20 ms frame, and handing one 20 ms frame
//! through the lock-free ring (the callback side and the call side).
//!
//! `cargo bench -p homeline-audio --bench audio`
#![allow(clippy::unwrap_used)] // a bench that fails to set up should stop loudly

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use homeline_audio::ring::{StreamCounters, capture_into, play_from, ring};
use homeline_audio::{Resampler, frame_len};

fn resampler(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample_20ms_frame");
    for (from, to) in [
        (44_100, 48_000),
        (48_000, 8_000),
        (8_000, 48_000),
        (48_000, 48_000),
    ] {
        let mut r = Resampler::new(from, to).unwrap();
        let input: Vec<f32> = (0..frame_len(from))
            .map(|i| (i as f32 * 0.05).sin() * 0.5)
            .collect();
        let mut out = vec![0.0; frame_len(to)];
        g.bench_function(format!("{from}->{to}"), |b| {
            b.iter(|| {
                r.push(black_box(&input)).unwrap();
                while r.pop(&mut out) {}
                black_box(&out);
            })
        });
    }
    g.finish();
}

fn handoff(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_handoff_20ms_frame");
    let counters = StreamCounters::default();
    // Capture: a stereo i16 device callback of 20 ms at 48 kHz, then the reader pops it.
    let stereo: Vec<i16> = (0..960 * 2).map(|i| (i * 7) as i16).collect();
    let (mut p, mut cons) = ring(24_000);
    let mut mono = vec![0.0f32; 960];
    g.bench_function("capture_stereo_i16_48k", |b| {
        b.iter(|| {
            capture_into(black_box(&stereo), 2, &mut p, &counters);
            let chunk = cons.read_chunk(960).unwrap();
            let (a, bb) = chunk.as_slices();
            mono[..a.len()].copy_from_slice(a);
            mono[a.len()..].copy_from_slice(bb);
            chunk.commit_all();
            black_box(&mono);
        })
    });
    // Playback: the writer pushes 20 ms, then a stereo f32 device callback drains it.
    let (mut p, mut cons) = ring(24_000);
    let frame = vec![0.25f32; 960];
    let mut out = vec![0.0f32; 960 * 2];
    let mut started = false;
    g.bench_function("playback_stereo_f32_48k", |b| {
        b.iter(|| {
            let mut chunk = p.write_chunk(960).unwrap();
            let (a, bb) = chunk.as_mut_slices();
            let split = a.len();
            a.copy_from_slice(&frame[..split]);
            bb.copy_from_slice(&frame[split..]);
            chunk.commit_all();
            play_from(black_box(&mut out), 2, &mut cons, &counters, &mut started);
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(benches, resampler, handoff);
criterion_main!(benches);
