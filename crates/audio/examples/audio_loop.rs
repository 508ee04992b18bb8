//! Plays a WAV file on a speaker and records a microphone into a WAV file, through the same
//! device endpoints a call uses. For scripts and manual checks:
//!
//! ```text
//! cargo run -p homeline-audio --example audio_loop -- \
//!     [--play in.wav] [--record out.wav] [--speaker NAME] [--microphone NAME] \
//!     [--rate 48000] [--seconds 5]
//! ```
//! Device names are as `homeline devices` shows them (or the host's ids); "default" or
//! nothing means the system default. Device changes are printed as they happen.

use std::process::ExitCode;
use std::time::Duration;

use homeline_audio::{
    DeviceChoice, DeviceInput, DeviceOutput, Discard, FrameSink, FrameSource, Role, Silence,
    WavSink, WavSource, play_and_record,
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audio_loop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut play = None;
    let mut record = None;
    let mut speaker = DeviceChoice::SystemDefault;
    let mut microphone = DeviceChoice::SystemDefault;
    let mut rate = 48_000u32;
    let mut seconds = 5.0f64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--play" => play = Some(value()?),
            "--record" => record = Some(value()?),
            "--speaker" => speaker = DeviceChoice::from_setting(&value()?),
            "--microphone" => microphone = DeviceChoice::from_setting(&value()?),
            "--rate" => rate = value()?.parse()?,
            "--seconds" => seconds = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let mut output = DeviceOutput::open(Role::Speaker, speaker, rate, Some(tx.clone()))?;
    let mut input = DeviceInput::open(microphone, rate, Some(tx))?;
    eprintln!(
        "playing on '{}', recording from '{}'",
        output.device(),
        input.device()
    );
    let mut source: Box<dyn FrameSource> = match &play {
        Some(p) => Box::new(WavSource::open(p, rate)?),
        None => Box::new(Silence::new(rate)),
    };
    let mut sink: Box<dyn FrameSink> = match &record {
        Some(p) => Box::new(WavSink::create(p, rate)?),
        None => Box::new(Discard::new(rate)),
    };
    let stats = play_and_record(
        source.as_mut(),
        &mut output,
        &mut input,
        sink.as_mut(),
        Duration::from_secs_f64(seconds),
    )?;
    sink.finish()?;
    for e in rx.try_iter() {
        eprintln!("{}", e.message);
    }
    println!(
        "{{\"frames_played\":{},\"frames_recorded\":{},\"output_underruns\":{},\"input_overruns\":{}}}",
        stats.frames_played,
        stats.frames_recorded,
        output.counters().underrun_events,
        input.counters().overrun_events
    );
    Ok(())
}
