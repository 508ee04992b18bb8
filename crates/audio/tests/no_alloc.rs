//! Proof that the real-time paths do not allocate: the callback bodies (capture_into,
//! play_from) and, in steady state, the per-frame call-side work (resampling, levels).
//! A counting allocator counts allocations made by the current thread only.

// A counting allocator needs `unsafe impl GlobalAlloc`; it only counts and forwards to System.
#![allow(unsafe_code)]
// An unwrap that fails is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use homeline_audio::ring::{StreamCounters, capture_into, play_from, ring};
use homeline_audio::{Levels, Resampler, frame_len};

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

fn count() {
    // try_with: the allocator can be called while a thread's locals are being torn down.
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
}

// SAFETY: every method forwards to the system allocator with the caller's arguments.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn device_callbacks_never_allocate() {
    let counters = StreamCounters::default();
    let (mut p, mut c) = ring(4800);
    let input: Vec<i16> = (0..441 * 2).map(|i| i as i16).collect();
    let mut output = vec![0.0f32; 512 * 2];
    let mut started = false;
    let n = allocations_during(|| {
        for _ in 0..2000 {
            // Includes overruns (the ring fills up) and underruns (it runs dry).
            capture_into(&input, 2, &mut p, &counters);
            play_from(&mut output, 2, &mut c, &counters, &mut started);
            play_from(&mut output, 2, &mut c, &counters, &mut started);
        }
    });
    let s = counters.snapshot();
    assert!(s.underrun_events > 0, "{s:?}");
    assert_eq!(n, 0, "the callbacks allocated {n} times");
}

#[test]
fn per_frame_call_work_does_not_allocate_in_steady_state() {
    for (from, to) in [
        (44_100, 48_000),
        (48_000, 8_000),
        (8_000, 48_000),
        (48_000, 48_000),
    ] {
        let mut r = Resampler::new(from, to).unwrap();
        let levels = Levels::default();
        let input = vec![0.1f32; 512];
        let mut frame = vec![0.0f32; frame_len(to)];
        let mut run = |times: usize| {
            for _ in 0..times {
                r.push(&input).unwrap();
                while r.pop(&mut frame) {
                    levels.update(&frame);
                }
            }
        };
        run(20);
        let n = allocations_during(|| run(1000));
        assert_eq!(n, 0, "{from}->{to}: {n} allocations");
    }
}
