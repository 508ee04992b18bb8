//! Building and tearing down one lab: three namespaces, two veth links, the
//! router profile, and the output folder.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use rustix::process::Signal;

use crate::error::{LabError, Result, run, run_stdout};
use crate::host::{Groups, Host, Role, group_alive, signal_group};
use crate::router::{self, RouterProfile};
use crate::tls::{LAB_DOMAIN, TlsFiles};
use crate::{
    CLIENT_IP, LAN_IF, NS_PREFIX, PUBLIC_IF, PUBLIC_IP, PUBLIC_IP_2, ROUTER_LAN_IP,
    ROUTER_PUBLIC_IP, WAN_IF,
};

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// Whether this process runs as root (the lab needs it).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// For tests: returns `true` (after printing `skipped: needs root`) when the
/// process is not root, so a test can `return` early and still pass.
pub fn skip_unless_root() -> bool {
    if is_root() {
        false
    } else {
        eprintln!("skipped: needs root");
        true
    }
}

/// Whether `program` is an executable file in a folder of `$PATH`.
pub fn have_program(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            std::fs::metadata(d.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// For tests: returns `true` (after printing `skipped: <program> is not
/// installed`) when one of `programs` is missing from `$PATH`.
pub fn skip_unless_installed(programs: &[&str]) -> bool {
    match programs.iter().find(|p| !have_program(p)) {
        Some(p) => {
            eprintln!("skipped: {p} is not installed (scripts/install-deps.sh test)");
            true
        }
        None => false,
    }
}

/// A per-test network: client behind a NAT router, and a public host.
/// Dropping it stops every process started in it and deletes its
/// namespaces (and with them the veth links), also when the test panics.
#[derive(Debug)]
pub struct Lab {
    name: String,
    profile: RouterProfile,
    out_dir: PathBuf,
    client: Host,
    router: Host,
    public: Host,
    groups: Groups,
    namespaces: Vec<String>,
    tls: Mutex<Option<TlsFiles>>,
}

/// Options for [`Lab`]; start with [`Lab::builder`].
#[derive(Debug, Clone)]
pub struct LabBuilder {
    profile: RouterProfile,
    label: Option<String>,
}

impl LabBuilder {
    /// A readable label for the output folder; defaults to the current
    /// thread's name, which under `cargo test` is the test's name.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Builds the lab.
    pub fn build(self) -> Result<Lab> {
        Lab::build(self)
    }
}

impl Lab {
    /// A lab with the given router profile and default options.
    pub fn new(profile: RouterProfile) -> Result<Lab> {
        Lab::builder(profile).build()
    }

    /// Options for a lab.
    pub fn builder(profile: RouterProfile) -> LabBuilder {
        LabBuilder {
            profile,
            label: None,
        }
    }

    /// For tests: `Ok(None)` when the lab cannot run here — not root, or the
    /// profile needs a kernel feature that is missing — after printing
    /// `skipped: <reason>`. Other failures are errors.
    pub fn start_or_skip(profile: RouterProfile) -> Result<Option<Lab>> {
        if skip_unless_root() {
            return Ok(None);
        }
        match Lab::new(profile) {
            Ok(lab) => Ok(Some(lab)),
            Err(LabError::Unsupported(why)) => {
                eprintln!("skipped: {why}");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn build(opts: LabBuilder) -> Result<Lab> {
        let uid = rustix::process::geteuid().as_raw();
        if uid != 0 {
            return Err(LabError::NotRoot(uid));
        }
        SWEEP.call_once(|| {
            if let Err(e) = sweep_stale_labs() {
                eprintln!("homeline-lab: sweeping stale labs failed: {e}");
            }
        });
        let pid = std::process::id();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{NS_PREFIX}{pid}-{n}");
        let label = opts
            .label
            .or_else(|| std::thread::current().name().map(str::to_owned))
            .unwrap_or_else(|| "lab".to_owned());
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let out_dir = out_root().join(format!("{label}-{}", opts.profile.name()));
        // A fresh folder per run of the same test; a second lab of the same
        // test in this process gets a numbered folder.
        let out_dir = if out_dir.exists() && n > 0 && is_ours(&out_dir, pid) {
            out_root().join(format!("{label}-{}-{n}", opts.profile.name()))
        } else {
            out_dir
        };
        let _ = std::fs::remove_dir_all(&out_dir);
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| LabError::io(format!("create {}", out_dir.display()), e))?;
        let _ = std::fs::write(out_dir.join(".owner"), format!("{pid}\n{name}\n"));

        let groups: Groups = Arc::new(Mutex::new(Vec::new()));
        let host = |suffix: &str, role| Host {
            ns: format!("{name}-{suffix}"),
            role,
            out_dir: out_dir.clone(),
            groups: groups.clone(),
        };
        let mut lab = Lab {
            client: host("c", Role::Client),
            router: host("r", Role::Router),
            public: host("p", Role::Public),
            name,
            profile: opts.profile,
            out_dir,
            groups: groups.clone(),
            namespaces: Vec::new(),
            tls: Mutex::new(None),
        };
        if let Err(e) = lab.set_up() {
            let _ = std::fs::write(lab.out_dir.join("setup-error.txt"), e.to_string());
            eprintln!("homeline-lab: lab output in {}", lab.out_dir.display());
            return Err(e);
        }
        Ok(lab)
    }

    fn set_up(&mut self) -> Result<()> {
        for h in [&self.client, &self.router, &self.public] {
            run(Command::new("ip").args(["netns", "add", &h.ns]))?;
            self.namespaces.push(h.ns.clone());
            ip(&h.ns, &["link", "set", "lo", "up"])?;
            // `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts:
            // programs run with Host::command resolve the lab domain without DNS.
            let dir = Path::new(ETC_NETNS).join(&h.ns);
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(dir.join("hosts"), hosts_file()))
                .map_err(|e| LabError::io(format!("write {}/hosts", dir.display()), e))?;
        }
        let (c, r, p) = (&self.client.ns, &self.router.ns, &self.public.ns);
        // The veth ends are created directly inside the namespaces, so their
        // short fixed names never meet in the root namespace and labs can
        // run side by side.
        ip(
            r,
            &[
                "link", "add", LAN_IF, "type", "veth", "peer", "name", PUBLIC_IF, "netns", c,
            ],
        )?;
        ip(
            r,
            &[
                "link", "add", WAN_IF, "type", "veth", "peer", "name", PUBLIC_IF, "netns", p,
            ],
        )?;
        ip(
            c,
            &["addr", "add", &format!("{CLIENT_IP}/24"), "dev", PUBLIC_IF],
        )?;
        ip(c, &["link", "set", PUBLIC_IF, "up"])?;
        ip(
            c,
            &["route", "add", "default", "via", &ROUTER_LAN_IP.to_string()],
        )?;
        ip(
            r,
            &["addr", "add", &format!("{ROUTER_LAN_IP}/24"), "dev", LAN_IF],
        )?;
        ip(
            r,
            &[
                "addr",
                "add",
                &format!("{ROUTER_PUBLIC_IP}/24"),
                "dev",
                WAN_IF,
            ],
        )?;
        ip(r, &["link", "set", LAN_IF, "up"])?;
        ip(r, &["link", "set", WAN_IF, "up"])?;
        for a in [PUBLIC_IP, PUBLIC_IP_2] {
            ip(p, &["addr", "add", &format!("{a}/24"), "dev", PUBLIC_IF])?;
        }
        ip(p, &["link", "set", PUBLIC_IF, "up"])?;
        router::configure(&self.router, self.profile)?;
        let _ = std::fs::write(self.out_dir.join("router.nft"), self.profile.ruleset());
        Ok(())
    }

    /// The lab's unique name (prefix, pid, counter); namespace names are
    /// this plus `-c`, `-r`, `-p`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The router profile.
    pub fn profile(&self) -> RouterProfile {
        self.profile
    }

    /// The client host (behind the NAT).
    pub fn client(&self) -> &Host {
        &self.client
    }

    /// The router host.
    pub fn router(&self) -> &Host {
        &self.router
    }

    /// The public host (servers).
    pub fn public(&self) -> &Host {
        &self.public
    }

    /// The client's private address.
    pub fn client_ip(&self) -> IpAddr {
        IpAddr::V4(CLIENT_IP)
    }

    /// The router's LAN address (the client's default gateway).
    pub fn router_lan_ip(&self) -> IpAddr {
        IpAddr::V4(ROUTER_LAN_IP)
    }

    /// The router's public address: what servers see as the client's source.
    pub fn router_public_ip(&self) -> IpAddr {
        IpAddr::V4(ROUTER_PUBLIC_IP)
    }

    /// The public host's first address (kamailio, coturn primary).
    pub fn public_ip(&self) -> IpAddr {
        IpAddr::V4(PUBLIC_IP)
    }

    /// The public host's second address (coturn's RFC 5780 alternate).
    pub fn public_ip2(&self) -> IpAddr {
        IpAddr::V4(PUBLIC_IP_2)
    }

    /// `public_ip():port`.
    pub fn public_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.public_ip(), port)
    }

    /// Where logs and configs of this lab go: `$HOMELINE_TEST_OUT/<label>-<profile>`
    /// or `<target>/lab-out/<label>-<profile>`.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// The router forgets every NAT mapping and maps flows from now on to public ports in
    /// `ports`: each flow's next packet leaves from a new address, as after a router reboot.
    /// Needs the `conntrack` tool (`skip_unless_installed(&["conntrack"])`).
    pub fn rebind_nat(&self, ports: std::ops::RangeInclusive<u16>) -> Result<()> {
        router::rebind(&self.router, self.profile, ports)
    }

    /// The UDP conntrack timeouts (unreplied, stream) in force in the router,
    /// read back from the namespace's sysctls.
    pub fn router_udp_timeouts(&self) -> Result<(u32, u32)> {
        let read = |k: &str| -> Result<u32> {
            let v = self.router.sysctl(k)?;
            v.parse()
                .map_err(|_| LabError::Invalid(format!("sysctl {k} gave {v:?}")))
        };
        Ok((
            read("net.netfilter.nf_conntrack_udp_timeout")?,
            read("net.netfilter.nf_conntrack_udp_timeout_stream")?,
        ))
    }

    /// A CA and a server certificate for the public host (valid for
    /// `homeline.test` and both public addresses), generated once per lab.
    pub fn tls_files(&self) -> Result<TlsFiles> {
        let mut guard = self
            .tls
            .lock()
            .map_err(|_| LabError::Invalid("tls lock poisoned".into()))?;
        if let Some(t) = guard.as_ref() {
            return Ok(t.clone());
        }
        let t = TlsFiles::generate(&self.out_dir.join("tls"), &[PUBLIC_IP, PUBLIC_IP_2])?;
        *guard = Some(t.clone());
        Ok(t)
    }

    fn tear_down(&mut self) {
        let groups: Vec<i32> = self.groups.lock().map(|g| g.clone()).unwrap_or_default();
        for &g in &groups {
            signal_group(g, Signal::TERM);
        }
        if groups.iter().any(|&g| group_alive(g)) {
            std::thread::sleep(Duration::from_millis(300));
        }
        for &g in &groups {
            signal_group(g, Signal::KILL);
        }
        for ns in self.namespaces.drain(..).rev() {
            delete_namespace(&ns);
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.tear_down();
        if std::thread::panicking() {
            eprintln!(
                "homeline-lab: test failed; lab {} output (logs, configs) in {}",
                self.name,
                self.out_dir.display()
            );
        }
    }
}

fn ip(ns: &str, args: &[&str]) -> Result<()> {
    run(Command::new("ip").arg("-n").arg(ns).args(args)).map(|_| ())
}

fn is_ours(dir: &Path, pid: u32) -> bool {
    std::fs::read_to_string(dir.join(".owner"))
        .ok()
        .and_then(|s| s.lines().next().map(|l| l == pid.to_string()))
        .unwrap_or(false)
}

/// The root folder for lab output: `$HOMELINE_TEST_OUT`, else
/// `$CARGO_TARGET_DIR/lab-out`, else the workspace's `target/lab-out`.
pub fn out_root() -> PathBuf {
    if let Some(d) = std::env::var_os("HOMELINE_TEST_OUT") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d).join("lab-out");
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/lab-out")
        .components()
        .collect()
}

/// Kills every process inside `ns`, then deletes it (which removes its veth
/// ends and their peers).
fn delete_namespace(ns: &str) {
    for attempt in 0..3 {
        let pids = run_stdout(Command::new("ip").args(["netns", "pids", ns])).unwrap_or_default();
        let pids: Vec<i32> = pids
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if pids.is_empty() {
            break;
        }
        for p in pids {
            if let Some(pid) = rustix::process::Pid::from_raw(p) {
                let sig = if attempt == 0 {
                    Signal::TERM
                } else {
                    Signal::KILL
                };
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Err(e) = run(Command::new("ip").args(["netns", "delete", ns])) {
        eprintln!("homeline-lab: could not delete namespace {ns}: {e}");
    }
    let _ = std::fs::remove_dir_all(Path::new(ETC_NETNS).join(ns));
}

const ETC_NETNS: &str = "/etc/netns";

fn hosts_file() -> String {
    format!(
        "127.0.0.1\tlocalhost\n{PUBLIC_IP}\t{LAB_DOMAIN} sip.{LAB_DOMAIN} turn.{LAB_DOMAIN}\n\
         {PUBLIC_IP_2}\tturn2.{LAB_DOMAIN}\n"
    )
}

/// Deletes namespaces left by lab runs whose process is gone (a test binary
/// killed with SIGKILL cannot run its destructors). Runs once per process
/// automatically; returns the namespaces it removed.
pub fn sweep_stale_labs() -> Result<Vec<String>> {
    let list = run_stdout(Command::new("ip").args(["netns", "list"]))?;
    let mut removed = Vec::new();
    for line in list.lines() {
        let Some(ns) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = ns.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        delete_namespace(ns);
        removed.push(ns.to_owned());
    }
    Ok(removed)
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn f<T: Send + Sync>() {}
    f::<Lab>();
}
