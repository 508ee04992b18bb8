//! kamailio on the public host: registrar with digest auth and a proxy that
//! reaches registered clients through their NAT binding.
//!
//! The configuration is generated per lab (no database): passwords live in
//! the script itself, in a `route[CREDENTIALS]` that sets `$var(pw)` from the
//! authentication user `$au`, and the `auth` module's `pv_auth_check` checks
//! the digest against it. NAT handling follows kamailio's default script:
//! `force_rport`, `fix_nated_register` (the registrar stores the `received`
//! address, so `lookup` sends requests to the router's public mapping),
//! `set_contact_alias`/`handle_ruri_alias` for dialogs, record-routing. The
//! server never pings clients (`natping_interval` 0): keeping a NAT binding
//! open is the client's job, and tests of keep-alive rely on that.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};
use crate::host::{Host, LabProcess};
use crate::lab::Lab;
use crate::probe;
use crate::tls::{LAB_DOMAIN, TlsFiles};

const MODULES: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules/";

/// What the kamailio of a lab should look like. Start from
/// [`KamailioConfig::new`] and chain the setters.
#[derive(Debug, Clone)]
pub struct KamailioConfig {
    /// (user, password) pairs accepted by digest auth.
    pub users: Vec<(String, String)>,
    /// The digest realm.
    pub realm: String,
    /// SIP ports, each served over UDP and TCP. Default `[5060]`.
    pub ports: Vec<u16>,
    /// TLS port, if TLS is wanted (usually 5061).
    pub tls_port: Option<u16>,
    /// SIP over WebSocket (RFC 7118) port, plain `ws://` (e.g. 8080 or 80).
    pub ws_port: Option<u16>,
    /// SIP over secure WebSocket port, `wss://` (e.g. 8443 or 443).
    pub wss_port: Option<u16>,
    /// Address to listen on; default the public host's first address.
    pub listen_ip: Option<Ipv4Addr>,
    /// Shortest registration expiry accepted (shorter → 423).
    pub min_expires: u32,
    /// Longest registration expiry granted.
    pub max_expires: u32,
    /// Also challenge INVITE/MESSAGE/SUBSCRIBE from our domain (407).
    pub auth_calls: bool,
    /// Digest algorithm of the challenge: "MD5" or "SHA-256".
    pub algorithm: String,
    /// kamailio `debug` level (2 = info, 3 = debug).
    pub debug: i32,
    /// Presence (PUBLISH, SUBSCRIBE/NOTIFY) and offline messages (msilo), see
    /// `kamailio_presence.rs`.
    pub presence: bool,
}

impl Default for KamailioConfig {
    fn default() -> Self {
        KamailioConfig {
            users: Vec::new(),
            realm: LAB_DOMAIN.to_owned(),
            ports: vec![5060],
            tls_port: None,
            ws_port: None,
            wss_port: None,
            listen_ip: None,
            min_expires: 60,
            max_expires: 3600,
            auth_calls: false,
            algorithm: "MD5".to_owned(),
            debug: 2,
            presence: false,
        }
    }
}

impl KamailioConfig {
    /// Defaults: UDP+TCP 5060, realm `homeline.test`, no users.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user. Names are limited to `[A-Za-z0-9._+-]`.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_owned(), password.to_owned()));
        self
    }

    /// Replaces the SIP ports (each UDP and TCP).
    pub fn ports(mut self, ports: &[u16]) -> Self {
        self.ports = ports.to_vec();
        self
    }

    /// Enables TLS on `port`.
    pub fn tls(mut self, port: u16) -> Self {
        self.tls_port = Some(port);
        self
    }

    /// Serves SIP over WebSocket (`ws://ip:port`, subprotocol `sip`) on
    /// `port`: the `websocket` and `xhttp` modules, the handshake in
    /// `event_route[xhttp:request]`, and WebSocket clients (whose Via and
    /// Contact name an unroutable `*.invalid` host) treated as NATed, so the
    /// registrar keeps the connection as their address.
    pub fn websocket(mut self, port: u16) -> Self {
        self.ws_port = Some(port);
        self
    }

    /// Serves SIP over secure WebSocket (`wss://ip:port`) on `port`, with
    /// the lab's certificate (as for [`KamailioConfig::tls`]).
    pub fn websocket_tls(mut self, port: u16) -> Self {
        self.wss_port = Some(port);
        self
    }

    fn wants_tls(&self) -> bool {
        self.tls_port.is_some() || self.wss_port.is_some()
    }

    fn wants_websocket(&self) -> bool {
        self.ws_port.is_some() || self.wss_port.is_some()
    }

    /// Sets the digest realm.
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = realm.to_owned();
        self
    }

    /// Challenges calls from our domain too.
    pub fn auth_calls(mut self, on: bool) -> Self {
        self.auth_calls = on;
        self
    }

    /// Sets the digest algorithm ("MD5" or "SHA-256").
    pub fn algorithm(mut self, algorithm: &str) -> Self {
        self.algorithm = algorithm.to_owned();
        self
    }

    /// Adds the presence server and offline messages (see `kamailio_presence.rs`).
    pub fn presence(mut self, on: bool) -> Self {
        self.presence = on;
        self
    }

    /// Sets min and max registration expiry.
    pub fn expires(mut self, min: u32, max: u32) -> Self {
        self.min_expires = min;
        self.max_expires = max;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.ports.is_empty() {
            return Err(LabError::Invalid("kamailio needs at least one port".into()));
        }
        for (u, _) in &self.users {
            if u.is_empty()
                || !u
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
            {
                return Err(LabError::Invalid(format!(
                    "unsupported SIP user name {u:?}"
                )));
            }
        }
        Ok(())
    }

    /// The kamailio.cfg text for listening on `ip`, with TLS settings in
    /// `tls_cfg` when TLS is on.
    pub fn render(&self, ip: Ipv4Addr, tls_cfg: Option<&Path>) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "#!KAMAILIO\n# generated by homeline-lab\n");
        s.push_str("#!define FLT_NATS 5\n#!define FLB_NATB 6\n");
        if self.auth_calls {
            s.push_str("#!define WITH_CALL_AUTH\n");
        }
        let _ = writeln!(s, "debug={}", self.debug);
        s.push_str(
            "log_stderror=yes\nlog_prefix=\"{$mt $hdr(CSeq) $ci} \"\nchildren=2\ntcp_children=2\n\
             auto_aliases=no\ndns=no\nrev_dns=no\ndns_try_ipv6=no\nuse_dns_cache=off\n\
             tcp_connection_lifetime=3605\nenable_sctp=no\n",
        );
        let _ = writeln!(s, "alias=\"{LAB_DOMAIN}\"");
        for p in &self.ports {
            let _ = writeln!(s, "listen=udp:{ip}:{p}\nlisten=tcp:{ip}:{p}");
        }
        if self.wants_tls() {
            s.push_str("enable_tls=yes\n");
        }
        if let Some(p) = self.tls_port {
            let _ = writeln!(s, "listen=tls:{ip}:{p}");
        }
        if let Some(p) = self.ws_port {
            let _ = writeln!(s, "listen=tcp:{ip}:{p}");
        }
        if let Some(p) = self.wss_port {
            let _ = writeln!(s, "listen=tls:{ip}:{p}");
        }
        if self.wants_websocket() {
            // The HTTP GET of the WebSocket handshake has no Content-Length.
            s.push_str("tcp_accept_no_cl=yes\n");
        }
        let _ = writeln!(s, "\nmpath=\"{MODULES}\"");
        for m in [
            "kex",
            "corex",
            "tm",
            "tmx",
            "sl",
            "rr",
            "pv",
            "maxfwd",
            "usrloc",
            "registrar",
            "textops",
            "siputils",
            "xlog",
            "sanity",
            "auth",
            "nathelper",
        ] {
            let _ = writeln!(s, "loadmodule \"{m}.so\"");
        }
        if let (true, Some(cfg)) = (self.wants_tls(), tls_cfg) {
            let _ = writeln!(
                s,
                "loadmodule \"tls.so\"\nmodparam(\"tls\", \"config\", \"{}\")",
                cfg.display()
            );
        }
        let _ = writeln!(
            s,
            "\nmodparam(\"tm\", \"failure_reply_mode\", 3)\n\
             modparam(\"tm\", \"fr_timer\", 30000)\n\
             modparam(\"tm\", \"fr_inv_timer\", 120000)\n\
             modparam(\"rr\", \"enable_full_lr\", 0)\n\
             modparam(\"rr\", \"append_fromtag\", 0)\n\
             modparam(\"registrar\", \"method_filtering\", 1)\n\
             modparam(\"registrar\", \"min_expires\", {})\n\
             modparam(\"registrar\", \"max_expires\", {})\n\
             modparam(\"registrar\", \"gruu_enabled\", 0)\n\
             modparam(\"usrloc\", \"use_domain\", 0)\n\
             modparam(\"usrloc\", \"timer_interval\", 10)\n\
             modparam(\"usrloc\", \"nat_bflag\", FLB_NATB)\n\
             modparam(\"nathelper\", \"natping_interval\", 0)\n\
             modparam(\"nathelper|registrar\", \"received_avp\", \"$avp(RECEIVED)\")\n\
             modparam(\"auth\", \"algorithm\", \"{}\")\n",
            self.min_expires,
            self.max_expires,
            quote(&self.algorithm),
        );
        if self.wants_websocket() {
            s.push_str(
                "loadmodule \"xhttp.so\"\nloadmodule \"websocket.so\"\n\
                 modparam(\"websocket\", \"sub_protocols\", 1)\n",
            );
        }
        if self.presence {
            s.push_str(&crate::kamailio_presence::modules(ip, self.ports[0]));
        }
        s.push_str(ROUTES_HEAD);
        // Unknown users get a password nobody knows (an empty one would make
        // pv_auth_check log an error instead of just failing).
        let nobody = format!(
            "unknown-{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
                ^ u128::from(std::process::id())
        );
        let _ = writeln!(s, "route[CREDENTIALS] {{\n\t$var(pw) = \"{nobody}\";");
        for (u, p) in &self.users {
            let _ = writeln!(
                s,
                "\tif ($au == \"{u}\") {{ $var(pw) = \"{}\"; }}",
                quote(p)
            );
        }
        s.push_str("}\n\n");
        // nat_uac_test flag 64: the request came over a WebSocket.
        let nat_flags = if self.wants_websocket() { "83" } else { "19" };
        s.push_str(
            &ROUTES_TAIL
                .replace("@REALM@", &quote(&self.realm))
                .replace("@NATFLAGS@", nat_flags),
        );
        if self.wants_websocket() {
            let ports: Vec<String> = self
                .ws_port
                .iter()
                .chain(&self.wss_port)
                .map(|p| format!("$Rp == {p}"))
                .collect();
            s.push_str(&WS_ROUTE.replace("@WSPORTS@", &ports.join(" || ")));
        }
        if self.presence {
            s = crate::kamailio_presence::hook_routes(&s, ip, self.ports[0]);
        }
        s
    }
}

/// Escapes a value for a double-quoted kamailio config string.
fn quote(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

const ROUTES_HEAD: &str = r#"
request_route {
	force_rport();
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (!sanity_check("17895", "7")) {
		xlog("L_WARN", "malformed SIP request from $si:$sp\n");
		exit;
	}
	if (is_method("OPTIONS") && uri == myself && $rU == $null) {
		sl_send_reply("200", "Keepalive");
		exit;
	}
	route(NATDETECT);
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			route(RELAY);
		}
		exit;
	}
	if (!is_method("ACK")) {
		if (t_precheck_trans()) {
			t_check_trans();
			exit;
		}
		t_check_trans();
	}
	route(WITHINDLG);
	remove_hf("Route");
	if (is_method("REGISTER")) {
		route(REGISTRAR);
		exit;
	}
	route(AUTH);
	if (is_method("INVITE|SUBSCRIBE")) {
		record_route();
	}
	if (uri != myself) {
		route(RELAY);
		exit;
	}
	if ($rU == $null) {
		sl_send_reply("484", "Address Incomplete");
		exit;
	}
	route(LOCATION);
}

"#;

const ROUTES_TAIL: &str = r#"
route[REGISTRAR] {
	if (!is_present_hf("Authorization")) {
		auth_challenge("@REALM@", "1");
		exit;
	}
	route(CREDENTIALS);
	if (!pv_auth_check("@REALM@", "$var(pw)", "0", "1")) {
		xlog("L_INFO", "REGISTER of $tu from $si:$sp: challenge (auth user '$au')\n");
		auth_challenge("@REALM@", "1");
		exit;
	}
	consume_credentials();
	if (isflagset(FLT_NATS)) {
		setbflag(FLB_NATB);
	}
	if (!save("location")) {
		sl_reply_error();
	}
	xlog("L_INFO", "REGISTER of $tu from $si:$sp ($proto): saved\n");
	exit;
}

route[AUTH] {
#!ifdef WITH_CALL_AUTH
	if (from_uri == myself && !has_totag() && is_method("INVITE|MESSAGE|SUBSCRIBE|REFER")) {
		route(CREDENTIALS);
		# pv_auth_check reads Proxy-Authorization for methods other than
		# REGISTER, and auth_challenge answers them with 407.
		if (!is_present_hf("Proxy-Authorization") || !pv_auth_check("@REALM@", "$var(pw)", "0", "1")) {
			auth_challenge("@REALM@", "1");
			exit;
		}
		consume_credentials();
	}
#!endif
	return;
}

route[RELAY] {
	if (is_method("INVITE|BYE|SUBSCRIBE|UPDATE")) {
		if (!t_is_set("branch_route")) t_on_branch("MANAGE_BRANCH");
	}
	if (is_method("INVITE|SUBSCRIBE|UPDATE")) {
		if (!t_is_set("onreply_route")) t_on_reply("MANAGE_REPLY");
	}
	if (!t_relay()) {
		sl_reply_error();
	}
	exit;
}

route[WITHINDLG] {
	if (!has_totag()) return;
	if (loose_route()) {
		if (!isdsturiset()) {
			handle_ruri_alias();
		}
		route(RELAY);
		exit;
	}
	if (is_method("ACK")) {
		if (t_check_trans()) {
			route(RELAY);
		}
		exit;
	}
	sl_send_reply("404", "Not here");
	exit;
}

route[LOCATION] {
	if (!lookup("location")) {
		$var(rc) = $rc;
		t_newtran();
		switch ($var(rc)) {
			case -1:
			case -3:
				send_reply("404", "Not Found");
				exit;
			case -2:
				send_reply("405", "Method Not Allowed");
				exit;
		}
	}
	route(RELAY);
}

route[NATDETECT] {
	if (nat_uac_test("@NATFLAGS@")) {
		if (is_method("REGISTER")) {
			fix_nated_register();
		} else if (is_first_hop()) {
			set_contact_alias();
		}
		setflag(FLT_NATS);
	}
	return;
}

route[NATMANAGE] {
	if (is_request() && has_totag() && check_route_param("nat=yes")) {
		setbflag(FLB_NATB);
	}
	if (!(isflagset(FLT_NATS) || isbflagset(FLB_NATB))) return;
	if (is_request() && !has_totag() && t_is_branch_route()) {
		add_rr_param(";nat=yes");
	}
	if (is_reply() && isbflagset(FLB_NATB) && is_first_hop()) {
		set_contact_alias();
	}
	return;
}

branch_route[MANAGE_BRANCH] {
	route(NATMANAGE);
}

onreply_route[MANAGE_REPLY] {
	if (status =~ "[12][0-9][0-9]") {
		route(NATMANAGE);
	}
}
"#;

/// The HTTP side of the WebSocket listeners: upgrade GETs with the `sip`
/// subprotocol (RFC 7118 §4) on the WebSocket ports, 403/404 otherwise.
const WS_ROUTE: &str = r#"
event_route[xhttp:request] {
	set_reply_close();
	set_reply_no_connect();
	if (!(@WSPORTS@)) {
		xhttp_reply("403", "Forbidden", "", "");
		exit;
	}
	if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {
		if (ws_handle_handshake()) {
			exit;
		}
	}
	xhttp_reply("404", "Not Found", "", "");
}
"#;

/// A running kamailio. Stopped when dropped (and when its lab is dropped).
#[derive(Debug)]
pub struct Kamailio {
    host: Host,
    config: KamailioConfig,
    ip: Ipv4Addr,
    cfg_path: PathBuf,
    tls: Option<TlsFiles>,
    process: Option<LabProcess>,
    starts: u32,
}

impl Lab {
    /// Starts kamailio on the public host and waits until it answers SIP
    /// OPTIONS on every UDP port and accepts TCP (and TLS) connections.
    pub fn start_kamailio(&self, config: KamailioConfig) -> Result<Kamailio> {
        config.validate()?;
        let ip = config.listen_ip.unwrap_or(crate::PUBLIC_IP);
        let dir = self.out_dir().join("kamailio");
        std::fs::create_dir_all(&dir)
            .map_err(|e| LabError::io(format!("create {}", dir.display()), e))?;
        let tls = if config.wants_tls() {
            Some(self.tls_files()?)
        } else {
            None
        };
        let tls_cfg = match &tls {
            Some(t) => {
                let path = dir.join("tls.cfg");
                let text = format!(
                    "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\n\
                     require_certificate = no\nprivate_key = {}\ncertificate = {}\n\n\
                     [client:default]\nmethod = TLSv1.2+\nverify_certificate = no\n\
                     require_certificate = no\n",
                    t.key.display(),
                    t.cert.display()
                );
                std::fs::write(&path, text).map_err(|e| LabError::io("write tls.cfg", e))?;
                Some(path)
            }
            None => None,
        };
        let cfg_path = dir.join("kamailio.cfg");
        let mut script = config.render(ip, tls_cfg.as_deref());
        if config.presence {
            let db = dir.join("db");
            crate::kamailio_presence::write_db(&db)?;
            script = script.replace(crate::kamailio_presence::DB_DIR, &db.display().to_string());
        }
        std::fs::write(&cfg_path, script).map_err(|e| LabError::io("write kamailio.cfg", e))?;
        let mut k = Kamailio {
            host: self.public().clone(),
            config,
            ip,
            cfg_path,
            tls,
            process: None,
            starts: 0,
        };
        k.start()?;
        Ok(k)
    }
}

impl Kamailio {
    /// Starts it again after [`Kamailio::stop`] (registrations are lost, as
    /// with a real restart). Each start logs to its own file.
    pub fn start(&mut self) -> Result<()> {
        if self.process.is_some() {
            return Ok(());
        }
        self.starts += 1;
        let dir = self.dir();
        let mut cmd = self.host.command("kamailio");
        cmd.args(["-DD", "-E", "-m", "32", "-M", "8", "-f"])
            .arg(&self.cfg_path)
            .arg("-P")
            .arg(dir.join("kamailio.pid"))
            .arg("-Y")
            .arg(&dir)
            .arg("-w")
            .arg(&dir);
        let log = if self.starts == 1 {
            "kamailio/kamailio.log".to_owned()
        } else {
            format!("kamailio/kamailio-{}.log", self.starts)
        };
        let proc = self.host.spawn(&mut cmd, &log)?;
        self.process = Some(proc);
        self.wait_ready(Duration::from_secs(15))
    }

    /// Stops it (SIGTERM to its process group).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop();
        }
    }

    /// Stops and starts it again.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.start()
    }

    fn dir(&self) -> PathBuf {
        self.cfg_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        let udp: Vec<SocketAddr> = self.config.ports.iter().map(|&p| self.addr(p)).collect();
        let mut tcp = udp.clone();
        tcp.extend(self.tls_addr());
        tcp.extend(self.ws_addr());
        tcp.extend(self.wss_addr());
        let mut last;
        loop {
            let Some(p) = self.process.as_mut() else {
                return Err(LabError::Invalid("kamailio not started".into()));
            };
            if let Some(status) = p.exited() {
                let log = p.log_path().to_path_buf();
                self.process = None;
                let tail = log_tail(&log, 5);
                return Err(self.not_ready(
                    format!("kamailio exited ({status}): {tail}"),
                    limit,
                    log,
                ));
            }
            let probe_result = self.host.run(|| -> std::io::Result<()> {
                let sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
                for a in &udp {
                    probe::sip_options(&sock, *a, Duration::from_millis(200))?;
                }
                for a in &tcp {
                    std::net::TcpStream::connect_timeout(a, Duration::from_millis(200))?;
                }
                Ok(())
            })?;
            match probe_result {
                Ok(()) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                let log = self.log_path();
                return Err(self.not_ready(last, limit, log));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn not_ready(&self, detail: String, limit: Duration, log: PathBuf) -> LabError {
        LabError::NotReady {
            server: "kamailio".into(),
            secs: limit.as_secs(),
            detail,
            log,
        }
    }

    /// `listen_ip:port`.
    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), port)
    }

    /// The first SIP address (UDP and TCP), usually `203.0.113.10:5060`.
    pub fn sip_addr(&self) -> SocketAddr {
        self.addr(self.config.ports.first().copied().unwrap_or(5060))
    }

    /// The TLS address, if TLS is on.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.config.tls_port.map(|p| self.addr(p))
    }

    /// The plain WebSocket address, if on (`ws://` + this).
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.config.ws_port.map(|p| self.addr(p))
    }

    /// The secure WebSocket address, if on (`wss://` + this).
    pub fn wss_addr(&self) -> Option<SocketAddr> {
        self.config.wss_port.map(|p| self.addr(p))
    }

    /// The domain kamailio treats as its own (besides its IP address).
    pub fn domain(&self) -> &'static str {
        LAB_DOMAIN
    }

    /// The digest realm.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// The certificate files when TLS or WSS is on (trust `ca`).
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The generated configuration file.
    pub fn config_path(&self) -> &Path {
        &self.cfg_path
    }

    /// The log of the current (or last) run.
    pub fn log_path(&self) -> PathBuf {
        match &self.process {
            Some(p) => p.log_path().to_path_buf(),
            None if self.starts <= 1 => self.dir().join("kamailio.log"),
            None => self.dir().join(format!("kamailio-{}.log", self.starts)),
        }
    }

    /// The log text of the current (or last) run.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Whether it is running.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.exited().is_none())
    }
}

/// The last `n` lines of a log file with ERROR or CRITICAL in them, joined.
fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("CRITICAL"))
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}
