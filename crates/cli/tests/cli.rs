//! Runs the built `homeline` binary the way admins and scripts do.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn homeline(args: &[&str]) -> Output {
    homeline_env(args, &[])
}

fn homeline_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_homeline"));
    cmd.args(args)
        .env_remove("HOMELINE_LOG")
        .env_remove("HOMELINE_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The lines of stderr that are ours (libasound may print its own when there is no card).
fn our_stderr_lines(o: &Output) -> Vec<String> {
    text(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("homeline:"))
        .map(str::to_string)
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn version() {
    let o = homeline(&["--version"]);
    assert!(o.status.success());
    assert_eq!(
        text(&o.stdout).trim(),
        format!("homeline {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_usage_exits_2() {
    for args in [&["frobnicate"][..], &["devices", "--jsn"], &[]] {
        let o = homeline(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
}

#[test]
fn config_path_honours_flag() {
    let o = homeline(&["--config", "/some/where.toml", "config", "path"]);
    assert!(o.status.success());
    assert_eq!(text(&o.stdout).trim(), "/some/where.toml");
    let o = homeline_env(&["config", "path"], &[("HOMELINE_CONFIG", "/env/h.toml")]);
    assert_eq!(text(&o.stdout).trim(), "/env/h.toml");
}

#[test]
fn config_check_ok() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("homeline.toml");
    std::fs::write(
        &path,
        "version = 1\n[network]\nkeepalive_secs = 30\n[[accounts]]\nid = \"a1\"\n\
         display_name = \"A\"\nsip_address = \"sip:a@example.com\"\n",
    )
    .unwrap();
    let o = homeline(&["--config", path.to_str().unwrap(), "config", "check"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("OK:"), "{out}");
    assert!(out.contains("1 account"), "{out}");

    let missing = dir.path().join("missing.toml");
    let o = homeline(&["--config", missing.to_str().unwrap(), "config", "check"]);
    assert!(o.status.success());
    assert!(text(&o.stdout).contains("defaults apply"));
    assert!(!missing.exists());
}

#[test]
fn config_check_broken_names_line_and_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("homeline.toml");
    let broken = "version = 1\n\n[network]\nkeepalive_secs = 30\nsip_local_port = \"x\"\n";
    std::fs::write(&path, broken).unwrap();
    let o = homeline(&["--config", path.to_str().unwrap(), "config", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let lines = our_stderr_lines(&o);
    assert_eq!(lines.len(), 1, "{}", text(&o.stderr));
    assert!(lines[0].contains("line 5"), "{}", lines[0]);
    assert!(text(&o.stdout).is_empty());
    // Checking is read-only: the file is where it was, unchanged, and nothing was added.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    assert_eq!(files_in(dir.path()), vec!["homeline.toml"]);

    std::fs::write(&path, "version = 1\n[network\n").unwrap();
    let o = homeline(&["--config", path.to_str().unwrap(), "config", "check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(our_stderr_lines(&o)[0].contains("line 2"));
    assert_eq!(files_in(dir.path()), vec!["homeline.toml"]);
}

#[test]
fn devices_json_is_valid() {
    let o = homeline(&["devices", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["host"].is_string());
    assert!(v["inputs"].is_array() && v["outputs"].is_array());
    // Exit 0, or 1 with the reason in `error` and on stderr: never a crash.
    match o.status.code() {
        Some(0) => assert!(v["error"].is_null()),
        Some(1) => {
            assert!(v["error"]["code"].is_string());
            assert_eq!(our_stderr_lines(&o).len(), 1);
        }
        other => panic!("exit {other:?}: {}", text(&o.stderr)),
    }
}

#[test]
fn devices_text() {
    let o = homeline(&["devices"]);
    assert!(matches!(o.status.code(), Some(0 | 1)));
    let out = text(&o.stdout);
    assert!(out.contains("Inputs:") && out.contains("Outputs:"), "{out}");
}

#[test]
fn config_password_never_reaches_stderr() {
    const PROBE: &str = "S3cret-Probe-Value";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("homeline.toml");
    std::fs::write(
        &path,
        format!(
            "version = 1\n[[accounts]]\nid = \"bot\"\ndisplay_name = \"Bot\"\n\
             sip_address = \"sip:bot@example.com\"\npassword = \"{PROBE}\"\n"
        ),
    )
    .unwrap();
    let p = path.to_str().unwrap();
    for args in [
        &["--config", p, "config", "check"][..],
        &["--config", p, "-vv", "config", "check"],
        &["--config", p, "devices", "--json"],
    ] {
        let o = homeline_env(args, &[("HOMELINE_LOG", "trace")]);
        let err = text(&o.stderr);
        let out = text(&o.stdout);
        assert!(!err.contains(PROBE), "{args:?} leaked on stderr: {err}");
        assert!(!out.contains(PROBE), "{args:?} leaked on stdout: {out}");
        if args.contains(&"check") {
            assert!(o.status.success(), "{err}");
            // The warning is there, the value is not.
            assert!(err.contains("prefer the system keyring"), "{err}");
        }
    }
}
