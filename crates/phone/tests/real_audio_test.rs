//! Settings → Audio → Test on real (virtual) devices: under `scripts/with-pulse.sh` the default
//! microphone is the monitor of the default speaker, so the tone the test plays must show on
//! the microphone meter. Skipped unless `HOMELINE_REAL_AUDIO=1`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use homeline_phone::{Phone, PhoneOptions, SecretBackendChoice};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_tone_reaches_the_microphone_meter() {
    if std::env::var("HOMELINE_REAL_AUDIO").as_deref() != Ok("1") {
        println!("skipped (set HOMELINE_REAL_AUDIO=1 and run under scripts/with-pulse.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let phone = Phone::open(PhoneOptions {
        config_path: Some(dir.path().join("homeline.toml")),
        log_dir: Some(dir.path().join("logs")),
        secret_backend: SecretBackendChoice::SessionOnly,
        history_path: Some(dir.path().join("history.jsonl")),
    })
    .unwrap();
    let readings = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = readings.clone();
    let summary = phone
        .audio_test(Duration::from_secs(2), move |r| {
            sink.lock().unwrap().push(r)
        })
        .await
        .unwrap();
    let readings = readings.lock().unwrap();
    assert!(
        readings.len() >= 15,
        "about ten readings a second: {}",
        readings.len()
    );
    // A 0.3 sine is -13.5 dBFS RMS; through the monitor it arrives at about that level.
    assert!(
        (summary.output_dbfs + 13.5).abs() < 1.0,
        "tone level {}",
        summary.output_dbfs
    );
    assert!(
        summary.input_peak_dbfs > -20.0,
        "the microphone (the speaker's monitor) hears the tone: {summary:?}"
    );
    assert!(
        readings.iter().any(|r| r.input_dbfs > -20.0),
        "and the meter shows it"
    );
}
