//! `homeline headset inspect` on the 15 real descriptors of the headset crate's test data, and
//! `homeline headset list` on this machine (no headset attached).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn homeline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_homeline"))
        .args(args)
        .env_remove("HOMELINE_LOG")
        .env_remove("HOMELINE_CONFIG")
        .output()
        .unwrap()
}

fn data() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../headset/tests/data");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .collect();
    v.sort();
    v
}

fn note_rows(hex: &Path) -> usize {
    std::fs::read_to_string(hex.with_extension("md"))
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("| Input ") || l.starts_with("| Output "))
        .count()
}

#[test]
fn inspect_prints_every_telephony_control_of_the_real_descriptors() {
    let files = data();
    assert_eq!(files.len(), 15);
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let out = homeline(&[
            "headset",
            "inspect",
            "--descriptor",
            f.to_str().unwrap(),
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let controls = v["controls"].as_array().unwrap();
        let rows = note_rows(&f);
        if name.contains("negative") {
            assert_eq!(v["telephony"], false);
            assert!(controls.is_empty());
            let text = homeline(&["headset", "inspect", "--descriptor", f.to_str().unwrap()]);
            assert!(String::from_utf8_lossy(&text.stdout).contains("No telephony controls"));
            continue;
        }
        assert_eq!(v["telephony"], true, "{name}");
        // The note lists Programmable Button readings the parser resolves on the Button page
        // (see the headset crate's descriptor tests, which compare field by field).
        assert!(
            controls.len() <= rows && controls.len() + 3 >= rows,
            "{name}: {} vs {rows}",
            controls.len()
        );
        let hook = controls
            .iter()
            .find(|c| c["name"] == "Hook Switch")
            .unwrap_or_else(|| panic!("{name}: no Hook Switch"));
        assert_eq!(hook["relative"], false, "{name}");
        for key in [
            "report_id",
            "bit_offset",
            "bit_size",
            "logical_min",
            "logical_max",
            "constant",
        ] {
            assert!(hook.get(key).is_some(), "{name}: {key}");
        }
        // The table form names the same controls, with absolute/relative.
        let text = homeline(&["headset", "inspect", "--descriptor", f.to_str().unwrap()]);
        let t = String::from_utf8_lossy(&text.stdout);
        assert!(
            t.contains("Hook Switch") && t.contains("absolute"),
            "{name}: {t}"
        );
        assert_eq!(t.lines().count(), controls.len() + 2, "{name}: {t}");
    }
}

#[test]
fn inspect_explains_a_file_that_is_not_hex_or_not_a_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "this is not hex").unwrap();
    let out = homeline(&["headset", "inspect", "--descriptor", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not hex") && err.contains("xxd -p"), "{err}");
    std::fs::write(&bad, "09 05 a1 01 c0 c0").unwrap();
    let out = homeline(&["headset", "inspect", "--descriptor", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid"));
}

#[test]
fn list_runs_without_a_headset() {
    let out = homeline(&["headset", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.is_array());
}
