//! One host of the lab: a network namespace, the commands and sockets that
//! live in it, and the long-running processes started there.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use rustix::thread::LinkNameSpaceType;

use crate::error::{LabError, Result, describe, run_stdout};

/// Which of the three lab hosts a [`Host`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The user's computer behind the home router.
    Client,
    /// The home router doing NAT.
    Router,
    /// The "internet" side: servers with two public addresses.
    Public,
}

/// Process groups started in a lab, shared by its hosts so that the lab can
/// stop them all when it is dropped.
pub(crate) type Groups = Arc<Mutex<Vec<i32>>>;

/// A host of the lab (one network namespace). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Host {
    pub(crate) ns: String,
    pub(crate) role: Role,
    pub(crate) out_dir: PathBuf,
    pub(crate) groups: Groups,
}

impl Host {
    /// The network namespace name (as `ip netns list` shows it).
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Which host this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// A [`Command`] that runs `program` inside this host's namespace
    /// (`ip netns exec NS program`). Add arguments and run it as usual.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.arg("netns").arg("exec").arg(&self.ns).arg(program);
        c
    }

    /// Runs `program args…` in this namespace to completion and returns its
    /// stdout; a non-zero exit is an error carrying stderr.
    pub fn run_output(&self, program: &str, args: &[&str]) -> Result<String> {
        run_stdout(self.command(program).args(args))
    }

    /// Starts a long-running process in this namespace. `cmd` should come
    /// from [`Host::command`]. Its stdout and stderr go to `log_name` in the
    /// lab's output folder. The process gets its own process group, which is
    /// signalled on [`LabProcess::stop`], on drop, and when the lab is
    /// dropped, so forked children go too.
    pub fn spawn(&self, cmd: &mut Command, log_name: &str) -> Result<LabProcess> {
        let log = self.out_dir.join(log_name);
        let out = File::create(&log)
            .map_err(|e| LabError::io(format!("create log {}", log.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| LabError::io("duplicate log file handle", e))?;
        let command = describe(cmd);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|source| LabError::Spawn {
                command: command.clone(),
                source,
            })?;
        let pgid = child.id() as i32;
        if let Ok(mut g) = self.groups.lock() {
            g.push(pgid);
        }
        Ok(LabProcess {
            child,
            command,
            log,
            groups: self.groups.clone(),
        })
    }

    /// Runs `f` on a thread that has entered this host's network namespace
    /// and returns its result. Sockets created inside `f` belong to this
    /// namespace for their whole life, so they may be returned and used from
    /// any thread (or handed to tokio with `from_std` after
    /// `set_nonblocking(true)`). Threads spawned inside `f` inherit the
    /// namespace, so a whole tokio runtime built inside `f` (current-thread
    /// or multi-thread) lives in it:
    ///
    /// ```ignore
    /// lab.client().run(|| {
    ///     tokio::runtime::Runtime::new().unwrap().block_on(phone_under_test())
    /// })?;
    /// ```
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let path = format!("/run/netns/{}", self.ns);
        let file = File::open(&path).map_err(|e| LabError::io(format!("open {path}"), e))?;
        std::thread::scope(|s| {
            s.spawn(move || {
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(LinkNameSpaceType::Network),
                )
                .map_err(|e| LabError::io(format!("setns into {path}"), e.into()))?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A UDP socket bound to `addr` in this namespace.
    pub fn udp_socket(&self, addr: SocketAddr) -> Result<UdpSocket> {
        self.run(|| UdpSocket::bind(addr))?
            .map_err(|e| LabError::io(format!("bind udp {addr} in {}", self.ns), e))
    }

    /// A TCP listener bound to `addr` in this namespace.
    pub fn tcp_listener(&self, addr: SocketAddr) -> Result<TcpListener> {
        self.run(|| TcpListener::bind(addr))?
            .map_err(|e| LabError::io(format!("listen tcp {addr} in {}", self.ns), e))
    }

    /// Connects over TCP from this namespace. The inner `io::Result` is the
    /// connection outcome, which a test may expect to fail.
    pub fn tcp_connect(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<io::Result<TcpStream>> {
        self.run(|| TcpStream::connect_timeout(&addr, timeout))
    }

    /// Reads a sysctl in this namespace (e.g. `net.netfilter.nf_conntrack_udp_timeout`).
    pub fn sysctl(&self, key: &str) -> Result<String> {
        Ok(self.run_output("sysctl", &["-n", key])?.trim().to_owned())
    }

    /// Sets a sysctl in this namespace.
    pub fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.run_output("sysctl", &["-q", "-w", &format!("{key}={value}")])
            .map(|_| ())
    }

    /// The conntrack table of this namespace, one entry a line, as the kernel
    /// prints it in `/proc/net/nf_conntrack` (the fifth field of a UDP entry
    /// is the seconds left before it expires).
    pub fn conntrack_entries(&self) -> Result<Vec<String>> {
        let text = self.run_output("cat", &["/proc/net/nf_conntrack"])?;
        Ok(text.lines().map(str::to_owned).collect())
    }

    /// The local addresses of the UDP (IPv4) sockets bound in this
    /// namespace, from its `/proc/net/udp`: how to tell that a server has
    /// bound its port without sending it anything.
    pub fn udp_bound(&self) -> Result<Vec<SocketAddr>> {
        let text = self.run_output("cat", &["/proc/net/udp"])?;
        Ok(text.lines().skip(1).filter_map(parse_proc_addr).collect())
    }

    /// The folder where this lab keeps logs and configs.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }
}

/// A process started by [`Host::spawn`]. Stopped (its whole process group)
/// when dropped.
#[derive(Debug)]
pub struct LabProcess {
    child: Child,
    command: String,
    log: PathBuf,
    groups: Groups,
}

impl LabProcess {
    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where its stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The log so far (empty if unreadable).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The command line it was started with.
    pub fn command_line(&self) -> &str {
        &self.command
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the process group: SIGTERM, then SIGKILL after `grace`.
    pub fn stop_with_grace(&mut self, grace: Duration) {
        let pgid = self.child.id() as i32;
        signal_group(pgid, Signal::TERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() && !group_alive(pgid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_group(pgid, Signal::KILL);
        let _ = self.child.wait();
        if let Ok(mut g) = self.groups.lock() {
            g.retain(|&p| p != pgid);
        }
    }

    /// Stops the process group (SIGTERM, SIGKILL after 3 s).
    pub fn stop(&mut self) {
        self.stop_with_grace(Duration::from_secs(3));
    }
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The local address of one `/proc/net/udp` line: `sl local rem …`, where
/// local is `AABBCCDD:PPPP`, the address as the kernel's 32-bit value in
/// host byte order and the port in hex.
fn parse_proc_addr(line: &str) -> Option<SocketAddr> {
    let local = line.split_whitespace().nth(1)?;
    let (ip, port) = local.split_once(':')?;
    let ip = u32::from_str_radix(ip, 16).ok()?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(SocketAddr::new(
        std::net::Ipv4Addr::from(ip.to_ne_bytes()).into(),
        port,
    ))
}

pub(crate) fn signal_group(pgid: i32, sig: Signal) {
    if let Some(pid) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, sig);
    }
}

pub(crate) fn group_alive(pgid: i32) -> bool {
    Pid::from_raw(pgid).is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn proc_net_udp_lines_give_local_addresses() {
        // 203.0.113.11:5070, as a little-endian kernel prints it.
        let line = "  42: 0B7100CB:13CE 00000000:0000 07 00000000:00000000 00:00000000 \
                    00000000     0        0 12345 2 0000000000000000 0";
        if cfg!(target_endian = "little") {
            assert_eq!(
                super::parse_proc_addr(line),
                Some("203.0.113.11:5070".parse().unwrap())
            );
        }
        assert_eq!(super::parse_proc_addr("garbage"), None);
    }
}
