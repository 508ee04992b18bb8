//! The baseline of Homeline's start-up and memory benchmark: the smallest Tauri 2 app that shows
//! a page and reports when it is on screen, built with the same profile as Homeline.
#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

#[tauri::command]
fn ui_ready() {
    let ms = STARTED.get().map_or(0, |t| t.elapsed().as_millis());
    eprintln!("homeline-app: first content after {ms} ms");
}

fn main() {
    STARTED.get_or_init(Instant::now);
    if let Err(e) = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(tauri::generate_context!())
    {
        eprintln!("bare-window: {e}");
        std::process::exit(1);
    }
}
