//! Labs clean up after themselves, also on panic, and run side by side.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::Instant;

use homeline_lab::{Lab, NS_PREFIX, RouterProfile};

fn namespaces() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn ours(lab_name: &str) -> Vec<String> {
    namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{lab_name}-")))
        .collect()
}

#[test]
fn drop_kills_processes_and_deletes_namespaces() {
    let Some(lab) = Lab::start_or_skip(RouterProfile::Cone).unwrap() else {
        return;
    };
    let name = lab.name().to_owned();
    assert_eq!(ours(&name).len(), 3, "{:?}", namespaces());
    // Programs in the namespaces resolve the lab's names without DNS.
    let out = lab
        .client()
        .command("getent")
        .args(["hosts", "homeline.test"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("203.0.113.10 "),
        "{out:?}"
    );
    let etc = format!("/etc/netns/{name}-c");
    assert!(std::path::Path::new(&etc).exists());
    let sleeper = lab
        .client()
        .spawn(lab.client().command("sleep").arg("300"), "sleep.log")
        .unwrap();
    let pid = sleeper.pid();
    // Leak the handle on purpose: the lab must still stop the process.
    std::mem::forget(sleeper);
    // A process started behind the lab's back, inside a namespace.
    let mut stray = lab.public().command("sleep").arg("300").spawn().unwrap();
    drop(lab);
    assert!(ours(&name).is_empty(), "{:?}", namespaces());
    assert!(!std::path::Path::new(&etc).exists(), "{etc} left behind");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid));
    let status = stray.wait().unwrap();
    assert!(!status.success(), "stray process should have been killed");
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.split_whitespace().nth(2) == Some("Z"))
        .unwrap_or(true)
}

#[test]
fn a_panicking_test_still_cleans_up() {
    if homeline_lab::skip_unless_root() {
        return;
    }
    let name = std::sync::Mutex::new(String::new());
    let r = std::panic::catch_unwind(|| {
        let lab = Lab::new(RouterProfile::Symmetric).unwrap();
        *name.lock().unwrap() = lab.name().to_owned();
        panic!("test body failed");
    });
    assert!(r.is_err());
    let name = name.into_inner().unwrap();
    assert!(!name.is_empty());
    assert!(ours(&name).is_empty(), "{:?}", namespaces());
}

#[test]
fn stale_labs_of_dead_processes_are_swept() {
    if homeline_lab::skip_unless_root() {
        return;
    }
    // A pid above the kernel's maximum can never be alive.
    let stale = format!("{NS_PREFIX}4194305-0-c");
    let st = Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .unwrap();
    assert!(st.success());
    let removed = homeline_lab::sweep_stale_labs().unwrap();
    assert!(removed.contains(&stale), "{removed:?}");
    assert!(!namespaces().contains(&stale));
}

#[test]
fn labs_build_concurrently_with_unique_names() {
    if homeline_lab::skip_unless_root() {
        return;
    }
    let start = Instant::now();
    let names: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = RouterProfile::ALL
            .iter()
            .map(|&p| {
                s.spawn(move || {
                    let lab = match Lab::new(p) {
                        Ok(l) => l,
                        Err(homeline_lab::LabError::Unsupported(why)) => {
                            eprintln!("skipped {p}: {why}");
                            return String::new();
                        }
                        Err(e) => panic!("{p}: {e}"),
                    };
                    // Each lab works on its own: the client reaches its router.
                    let st = lab
                        .client()
                        .command("ping")
                        .args(["-c1", "-W2", &lab.router_lan_ip().to_string()])
                        .output()
                        .unwrap();
                    assert!(st.status.success(), "{p}: {st:?}");
                    lab.name().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    eprintln!(
        "6 labs built and torn down in parallel in {:?}",
        start.elapsed()
    );
}
