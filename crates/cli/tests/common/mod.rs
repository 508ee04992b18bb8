//! What the two-Homeline lab tests (messages, presence) share: one account per user at the
//! lab's kamailio, and the CLI run in a lab host with that configuration.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use homeline_lab::Host;

/// A configuration file for `user` (password `pw-USER`) registering at `registrar` over UDP.
pub fn config(dir: &Path, user: &str, registrar: &str) -> PathBuf {
    let path = dir.join(format!("{user}.toml"));
    std::fs::write(
        &path,
        format!(
            "version = 1\n[[accounts]]\nid = \"acc-{user}\"\ndisplay_name = \"{user}\"\n\
             sip_address = \"sip:{user}@homeline.test\"\nregistrar = \"{registrar}\"\n\
             transport = \"udp\"\npassword = \"pw-{user}\"\n"
        ),
    )
    .unwrap();
    path
}

/// `homeline --config CFG` in `host`, logging into `dir`, with no inherited log settings.
pub fn homeline(host: &Host, dir: &Path, cfg: &Path) -> Command {
    let mut cmd = host.command(env!("CARGO_BIN_EXE_homeline"));
    cmd.env_remove("HOMELINE_LOG")
        .env_remove("HOMELINE_CONFIG")
        .env("HOMELINE_LOG_DIR", dir.join("logs"))
        .arg("--config")
        .arg(cfg);
    cmd
}
