//! `homeline headset list|inspect|monitor`: the headset's telephony controls for support staff.

use std::path::Path;
use std::time::Duration;

use homeline_phone::headset::core::backend::{self, HeadsetInfo};
use homeline_phone::headset::core::descriptor::{self, Direction, TelephonyLayout};

use crate::Failure;

/// `homeline headset list [--json]`.
pub(crate) fn list(json: bool) -> Result<(), Failure> {
    let audio = homeline_phone::list_audio_devices();
    let names: Vec<String> = audio
        .inputs
        .iter()
        .chain(audio.outputs.iter())
        .map(|d| d.name.clone())
        .collect();
    let found = homeline_phone::headset::list_headsets(&names).map_err(|e| Failure(e.message))?;
    if json {
        let v: Vec<serde_json::Value> = found.iter().map(info_json).collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(());
    }
    if found.is_empty() {
        println!("No telephony headset found (no HID device with the Telephony page).");
        return Ok(());
    }
    for h in &found {
        println!(
            "{} ({:04x}:{:04x}) at {}",
            h.name(),
            h.vendor_id,
            h.product_id,
            h.path
        );
        match &h.audio {
            Some(a) => println!(
                "  audio device: {} (matched by {})",
                a.audio_device, a.method
            ),
            None => println!("  audio device: not found"),
        }
        if let Some(l) = &h.layout {
            let buttons: Vec<&str> = l
                .controls
                .iter()
                .filter(|c| c.direction == Direction::Input)
                .map(|c| c.name.as_str())
                .collect();
            println!("  buttons: {}", buttons.join(", "));
        }
        if let Some(p) = &h.problem {
            println!("  problem: {}", p.message);
            println!("  fix: {}", p.hint);
        }
    }
    Ok(())
}

fn info_json(h: &HeadsetInfo) -> serde_json::Value {
    let mut v = serde_json::to_value(h).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("name".into(), h.name().into());
        o.insert(
            "controls".into(),
            serde_json::to_value(h.layout.as_ref().map(|l| &l.controls)).unwrap_or_default(),
        );
    }
    v
}

/// `homeline headset inspect --descriptor FILE [--json]`.
pub(crate) fn inspect(file: &Path, json: bool) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure(format!("{} could not be read: {e}", file.display())))?;
    let bytes = descriptor::decode_hex_text(&text).map_err(|e| {
        Failure(format!(
            "{}: {e}. Give the descriptor as hex text, e.g. `xxd -p \
             /sys/class/hidraw/hidraw0/device/report_descriptor > FILE`.",
            file.display()
        ))
    })?;
    let layout =
        descriptor::parse(&bytes).map_err(|e| Failure(format!("{}: {e}", file.display())))?;
    if json {
        println!("{}", layout_json(&layout));
        return Ok(());
    }
    print_layout(&layout);
    Ok(())
}

fn layout_json(l: &TelephonyLayout) -> serde_json::Value {
    serde_json::json!({
        "telephony": l.is_telephony(),
        "collections": l.collections.iter().map(|(p, i)| serde_json::json!({
            "usage_page": p, "usage_id": i, "name": descriptor::usage_name(*p, *i),
        })).collect::<Vec<_>>(),
        "uses_report_ids": l.uses_report_ids,
        "controls": l.controls,
    })
}

fn print_layout(l: &TelephonyLayout) {
    if !l.is_telephony() {
        println!("No telephony controls: this device has no Telephony-page (0x0B) collection.");
        return;
    }
    let cols: Vec<String> = l
        .collections
        .iter()
        .map(|(p, i)| format!("{} (0x{p:02X}/0x{i:02X})", descriptor::usage_name(*p, *i)))
        .collect();
    println!("Telephony collection: {}", cols.join(", "));
    println!(
        "{:<6} {:<32} {:>9} {:>6} {:>4} {:>4} {:>9} {:<8} flags",
        "dir", "usage", "page/id", "report", "bit", "size", "logical", "mode"
    );
    for c in &l.controls {
        let name = match c.usage_id_max {
            Some(max) => format!(
                "{} .. {}",
                c.name,
                descriptor::usage_name(c.usage_page, max)
            ),
            None => c.name.clone(),
        };
        let report = c.report_id.map_or("-".to_string(), |r| r.to_string());
        let mut flags = Vec::new();
        if c.array {
            flags.push("array");
        }
        if c.constant {
            flags.push("constant");
        }
        println!(
            "{:<6} {:<32} {:>9} {:>6} {:>4} {:>4} {:>9} {:<8} {}",
            match c.direction {
                Direction::Input => "input",
                Direction::Output => "output",
            },
            name,
            format!("{:02X}/{:02X}", c.usage_page, c.usage_id),
            report,
            c.bit_offset,
            c.bit_size,
            format!("{}..{}", c.logical_min, c.logical_max),
            if c.relative { "relative" } else { "absolute" },
            flags.join(",")
        );
    }
}

/// `homeline headset monitor [--device NAME]`: prints every change of a telephony input live
/// until interrupted (Ctrl-C) or the headset is unplugged.
pub(crate) fn monitor(device: Option<&str>) -> Result<(), Failure> {
    let found = homeline_phone::headset::list_headsets(&[]).map_err(|e| Failure(e.message))?;
    let chosen = found.iter().find(|h| match device {
        Some(d) => h.name().eq_ignore_ascii_case(d) || h.path == d,
        None => true,
    });
    let Some(h) = chosen else {
        return Err(Failure(match device {
            Some(d) => format!("no telephony headset called {d} is attached"),
            None => "no telephony headset is attached".into(),
        }));
    };
    let (mut transport, layout) = backend::open(&h.path, h.vendor_id).map_err(|e| match e {
        backend::BackendError::Open(p) => Failure(format!("{} {}", p.message, p.hint)),
        other => Failure(other.to_string()),
    })?;
    println!("{}: press the headset's buttons (Ctrl-C to stop)", h.name());
    let mut last: std::collections::BTreeMap<(Option<u8>, usize), u32> = Default::default();
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match transport.reader.read(&mut buf, Duration::from_secs(3600)) {
            Ok(n) => n,
            Err(e) => return Err(Failure(e.to_string())),
        };
        let report = buf.get(..n).unwrap_or_default();
        for (c, v) in layout.input_values(report) {
            let key = (c.report_id, c.bit_offset);
            if last.insert(key, v).unwrap_or(0) != v {
                let kind = if c.relative { "relative" } else { "absolute" };
                println!("{} = {v} ({kind})", c.name);
            }
        }
    }
}
