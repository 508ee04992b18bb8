//! Router profiles: the nftables ruleset and conntrack settings that make the
//! router namespace behave like a given kind of home router.

use std::io::Write;
use std::process::Stdio;

use crate::error::{LabError, Result};
use crate::host::Host;
use crate::{LAN_IF, WAN_IF};

/// How the home router treats traffic. Every profile does NAT (masquerade)
/// from the client LAN to the public side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouterProfile {
    /// Plain masquerade. Linux keeps the source port when it can, so one
    /// client socket gets the same public mapping for every destination
    /// (endpoint-independent mapping, "cone").
    Cone,
    /// Masquerade `fully-random`: every new flow (each destination) gets a
    /// fresh random public port — a symmetric NAT; STUN alone cannot help.
    Symmetric,
    /// Only TCP to ports 80 and 443 may leave; all UDP (and everything else)
    /// is dropped silently.
    UdpBlocked,
    /// Port 5060 (UDP and TCP, source or destination) is dropped both ways;
    /// other ports (5061, 6060, …) pass.
    SipPortBlocked,
    /// The kernel's SIP ALG: an nft `ct helper` of type "sip" on UDP and TCP
    /// port 5060, which rewrites private addresses in SIP headers and SDP.
    SipAlg,
    /// UDP conntrack timeouts (unreplied and stream) of 30 s: a NAT binding
    /// dies after 30 s of silence.
    ShortTimeout,
}

impl RouterProfile {
    /// All profiles, for table-driven tests.
    pub const ALL: [RouterProfile; 6] = [
        RouterProfile::Cone,
        RouterProfile::Symmetric,
        RouterProfile::UdpBlocked,
        RouterProfile::SipPortBlocked,
        RouterProfile::SipAlg,
        RouterProfile::ShortTimeout,
    ];

    /// The kebab-case name used in the issue and in folder names.
    pub fn name(self) -> &'static str {
        match self {
            RouterProfile::Cone => "cone",
            RouterProfile::Symmetric => "symmetric",
            RouterProfile::UdpBlocked => "udp-blocked",
            RouterProfile::SipPortBlocked => "sip-port-blocked",
            RouterProfile::SipAlg => "sip-alg",
            RouterProfile::ShortTimeout => "short-timeout",
        }
    }

    /// The UDP conntrack timeouts (unreplied, stream) in seconds that the
    /// router uses with this profile. Profiles other than `ShortTimeout` get
    /// the values of a typical home router, set explicitly so that tests do
    /// not depend on the host kernel's defaults.
    pub fn udp_timeouts(self) -> (u32, u32) {
        match self {
            RouterProfile::ShortTimeout => (30, 30),
            _ => (NORMAL_UDP_TIMEOUT, NORMAL_UDP_STREAM_TIMEOUT),
        }
    }

    /// The nftables ruleset for the router namespace.
    pub fn ruleset(self) -> String {
        let masquerade = match self {
            RouterProfile::Symmetric => "masquerade fully-random",
            _ => "masquerade",
        };
        let (helpers, prerouting) = match self {
            RouterProfile::SipAlg => (
                "  ct helper sip-udp {\n    type \"sip\" protocol udp\n    l3proto ip\n  }\n  \
                 ct helper sip-tcp {\n    type \"sip\" protocol tcp\n    l3proto ip\n  }\n",
                format!(
                    "  chain prerouting {{\n    type filter hook prerouting priority filter; policy accept;\n    \
                     iifname \"{LAN_IF}\" udp dport 5060 ct helper set \"sip-udp\"\n    \
                     iifname \"{LAN_IF}\" tcp dport 5060 ct helper set \"sip-tcp\"\n  }}\n"
                ),
            ),
            _ => ("", String::new()),
        };
        let forward = match self {
            RouterProfile::UdpBlocked => format!(
                "    type filter hook forward priority filter; policy drop;\n    \
                 ct state established,related accept\n    \
                 iifname \"{LAN_IF}\" oifname \"{WAN_IF}\" tcp dport {{ 80, 443 }} accept\n"
            ),
            RouterProfile::SipPortBlocked => {
                "    type filter hook forward priority filter; policy accept;\n    \
                 udp dport 5060 drop\n    tcp dport 5060 drop\n    \
                 udp sport 5060 drop\n    tcp sport 5060 drop\n"
                    .to_owned()
            }
            _ => "    type filter hook forward priority filter; policy accept;\n".to_owned(),
        };
        format!(
            "table ip homeline_lab {{\n{helpers}{prerouting}  chain forward {{\n{forward}  }}\n  \
             chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n    \
             oifname \"{WAN_IF}\" {masquerade}\n  }}\n}}\n"
        )
    }
}

impl std::fmt::Display for RouterProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Unreplied UDP conntrack timeout of the non-short profiles, seconds.
pub const NORMAL_UDP_TIMEOUT: u32 = 60;
/// Stream (assured) UDP conntrack timeout of the non-short profiles, seconds.
pub const NORMAL_UDP_STREAM_TIMEOUT: u32 = 180;

/// Loads `ruleset` into the router with `nft -f -`.
fn load_ruleset(router: &Host, ruleset: &str) -> Result<()> {
    let mut cmd = router.command("nft");
    cmd.args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| LabError::Spawn {
        command: "nft -f -".into(),
        source,
    })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(ruleset.as_bytes())
            .map_err(|e| LabError::io("write ruleset to nft", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| LabError::io("wait for nft", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LabError::Command {
            command: format!(
                "ip netns exec {} nft -f - <<ruleset\n{ruleset}ruleset",
                router.ns
            ),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Makes the router forget every NAT mapping and map flows from now on to public source ports
/// in `ports` (the profile's masquerade flags kept): the next packet of each flow leaves from a
/// new public port, as after a home router's reboot or a carrier NAT's reassignment. Needs the
/// `conntrack` tool.
pub(crate) fn rebind(
    router: &Host,
    profile: RouterProfile,
    ports: std::ops::RangeInclusive<u16>,
) -> Result<()> {
    let fully_random = if profile == RouterProfile::Symmetric {
        " fully-random"
    } else {
        ""
    };
    let (lo, hi) = (ports.start(), ports.end());
    load_ruleset(
        router,
        &format!(
            "flush chain ip homeline_lab postrouting\n\
             add rule ip homeline_lab postrouting oifname \"{WAN_IF}\" meta l4proto {{ tcp, udp }} \
             masquerade to :{lo}-{hi}{fully_random}\n\
             add rule ip homeline_lab postrouting oifname \"{WAN_IF}\" masquerade{fully_random}\n"
        ),
    )?;
    router.run_output("conntrack", &["--flush"]).map(drop)
}

/// Configures the router namespace for `profile`: forwarding, conntrack
/// timeouts and the nftables ruleset.
pub(crate) fn configure(router: &Host, profile: RouterProfile) -> Result<()> {
    router.set_sysctl("net.ipv4.ip_forward", "1")?;
    let (unreplied, stream) = profile.udp_timeouts();
    // These sysctls are per network namespace (checked on this kernel: the
    // host's values stay untouched), so each lab sets its own.
    router.set_sysctl(
        "net.netfilter.nf_conntrack_udp_timeout",
        &unreplied.to_string(),
    )?;
    router.set_sysctl(
        "net.netfilter.nf_conntrack_udp_timeout_stream",
        &stream.to_string(),
    )?;
    let ruleset = profile.ruleset();
    match load_ruleset(router, &ruleset) {
        Ok(()) => Ok(()),
        Err(first) if profile == RouterProfile::SipAlg => {
            // The helper may live in a module that is not loaded yet.
            let modprobe = ["nf_conntrack_sip", "nf_nat_sip"]
                .iter()
                .map(|m| {
                    crate::error::run(std::process::Command::new("modprobe").arg(m))
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .collect::<Vec<_>>();
            load_ruleset(router, &ruleset).map_err(|second| {
                LabError::Unsupported(format!(
                    "the kernel's SIP conntrack helper is unavailable: nft said: {first}; \
                     modprobe: {modprobe:?}; retry: {second}"
                ))
            })
        }
        Err(e) => Err(e),
    }
}
