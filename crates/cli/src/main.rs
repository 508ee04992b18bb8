//! `homeline`: Homeline's headless command line, on the same `homeline-phone` API as the app.
//!
//! Exit status: 0 on success, 1 on failure (with one line `homeline: <reason>` on stderr),
//! 2 on bad usage (clap's own). Logs go to stderr; `HOMELINE_LOG` sets their level.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use homeline_phone::config::{self, ConfigProblem};
use homeline_phone::{AudioDevice, AudioDevices, logging};

mod call;
mod diagnose;
mod headset;
mod message;
mod presence;
mod register;
mod relays;

/// Homeline, the softphone for people who work from home: headless commands.
#[derive(Debug, Parser)]
#[command(name = "homeline", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file to use instead of the default (also: HOMELINE_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// More log detail on stderr (default: warnings): -v info, -vv debug, -vvv trace
    /// (HOMELINE_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Probe the configured TURN relays over each transport (UDP, TCP, TLS) in parallel and
    /// print, per relay and transport, whether it works, its round trip and why not; `*` marks
    /// the one calls use. Exit 1 when relays are configured and none works.
    Relays {
        /// Use this account's relays (its own `turn` list) instead of `[[network.turn]]`.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the sound devices (microphones and speakers).
    Devices {
        /// Print JSON (the app API's AudioDevices) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Register an account with its server, print the outcome, unregister and exit: 0 when
    /// registered, 1 with the reason otherwise.
    Register {
        /// The account, by id or display name (default: the first account).
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 40)]
        timeout: u64,
        /// Print JSON (the app API's RegistrationStatus) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Place a call, print its progress, hang up after --duration: exit 0 when it was
    /// answered and ended cleanly, 1 with the reason (busy, declined, no answer …) otherwise.
    /// Without --account the URI's host and port are called directly (sip:bob@192.0.2.7:5090);
    /// `echo` calls the built-in echo line, which plays your audio back a second later.
    Call {
        /// Who to call: a SIP URI, a number (with --account), or `echo`.
        uri: String,
        /// The account to call through, by id or display name.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Hang up this many seconds after the answer.
        #[arg(long, value_name = "SECS", default_value_t = 5)]
        duration: u64,
        /// Print one JSON object (end_reason, sip_code, duration_secs, message, codec,
        /// packets_sent, packets_received, loss_pct, jitter_ms, rtt_ms, mos …).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        audio: AudioFlags,
    },
    /// Take calls: answer each incoming call with 200, wait for its BYE (or hang up after
    /// --duration), exit after --count calls. OPTIONS are answered too. With --listen, calls
    /// are taken on that address with no account.
    Answer {
        /// The account whose calls to take, by id or display name.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Take calls on this address without an account (e.g. 127.0.0.1:5090).
        #[arg(long, value_name = "IP:PORT")]
        listen: Option<std::net::SocketAddr>,
        /// Exit after this many calls have ended.
        #[arg(long, value_name = "N", default_value_t = 1)]
        count: u64,
        /// Hang up each call this many seconds after it connected (default: wait for BYE).
        #[arg(long, value_name = "SECS")]
        duration: Option<u64>,
        /// Print one JSON object per ended call (as `call --json`, plus `from`).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        audio: AudioFlags,
        /// Send each caller's audio back a second later (an echo service).
        #[arg(long, conflicts_with_all = ["play", "record", "devices"])]
        echo: bool,
    },
    /// Test the connection for calls: prints each check as it finishes, then the verdict;
    /// exit 0 when nothing is a problem, 1 when something is.
    Diagnose {
        /// The account to test, by id or display name (default: the first with a server).
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Print one JSON object (verdict, duration_ms, checks, fixes_applied).
        #[arg(long)]
        json: bool,
        /// Write the safe fixes (keep-alive, transport/port, relay) to the configuration.
        #[arg(long)]
        apply: bool,
        /// Skip the NAT timeout measurement that runs after the quick verdict (up to 4 min).
        #[arg(long)]
        no_background: bool,
    },
    /// Instant messages (SIP MESSAGE) through an account's server.
    Message {
        #[command(subcommand)]
        command: MessageCommand,
    },
    /// Your presence status and your contacts' (SIP presence).
    Presence {
        #[command(subcommand)]
        command: PresenceCommand,
    },
    /// Waiting voicemail messages (the server's message summary, RFC 3842): prints the counts
    /// when the server sends them, and every change with --follow.
    Voicemail {
        /// The account, by id or display name (it needs `voicemail_number` in the config).
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Keep printing every change until Ctrl-C or --timeout.
        #[arg(long)]
        follow: bool,
        /// Give up after this many seconds (default 20; with --follow: none).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// Print JSON lines instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Inspect the configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Headsets with call buttons (HID telephony devices).
    Headset {
        #[command(subcommand)]
        command: HeadsetCommand,
    },
}

#[derive(Debug, Subcommand)]
enum HeadsetCommand {
    /// List the telephony headsets, their audio device and any permission problem.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print every telephony input and output of a report descriptor (FILE: hex text,
    /// whitespace ignored, as `xxd -p /sys/class/hidraw/hidraw0/device/report_descriptor`).
    Inspect {
        /// The descriptor file.
        #[arg(long, value_name = "FILE")]
        descriptor: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the headset's button presses live (Ctrl-C to stop).
    Monitor {
        /// The headset, by the name `headset list` shows or its path (default: the first).
        #[arg(long, value_name = "NAME")]
        device: Option<String>,
    },
}

/// Where a call's audio comes from and goes to (default: silence, nothing recorded), whether
/// it is encrypted, and how often its statistics are printed.
#[derive(Debug, Clone, clap::Args)]
struct AudioFlags {
    /// Send this WAV file as our voice (then silence).
    #[arg(long, value_name = "FILE.wav")]
    play: Option<std::path::PathBuf>,
    /// Record what the other side says to this WAV file.
    #[arg(long, value_name = "FILE.wav")]
    record: Option<std::path::PathBuf>,
    /// Use the microphone and speaker chosen in Settings.
    #[arg(long, conflicts_with_all = ["play", "record"])]
    devices: bool,
    /// SDES-SRTP: `optional` offers it in RTP/AVP and accepts either, `required` offers
    /// RTP/SAVP and refuses plain RTP (peers that insist on SRTP need it), `off` never
    /// encrypts.
    #[arg(long, value_enum, value_name = "MODE", default_value = "optional")]
    srtp: SrtpMode,
    /// While a call is up, print its media statistics every SECS seconds (with --json, one
    /// object a line with "event": "stats"), to watch a long call's quality.
    #[arg(long, value_name = "SECS")]
    stats_every: Option<u64>,
}

/// `--srtp`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SrtpMode {
    Off,
    Optional,
    Required,
}

impl AudioFlags {
    fn into_args(self, echo: bool) -> call::AudioArgs {
        call::AudioArgs {
            play: self.play,
            record: self.record,
            devices: self.devices,
            echo,
            stats_every: self.stats_every.map(std::time::Duration::from_secs),
            srtp: match self.srtp {
                SrtpMode::Off => homeline_phone::media::SrtpPolicy::Off,
                SrtpMode::Optional => homeline_phone::media::SrtpPolicy::Optional,
                SrtpMode::Required => homeline_phone::media::SrtpPolicy::Required,
            },
        }
    }
}

#[derive(Debug, Subcommand)]
enum MessageCommand {
    /// Send one text message: exit 0 when the server or the peer accepted it, 1 otherwise.
    Send {
        /// The recipient: sip:user@domain, user@domain, or a user at the account's domain.
        uri: String,
        /// The text (UTF-8).
        text: String,
        /// The account to send from, by id or display name (default: the first with a
        /// registrar).
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Give up waiting for the answer after this many seconds.
        #[arg(long, value_name = "SECS", default_value_t = 40)]
        timeout: u64,
        /// Print one JSON object: uri, delivered, code, reason.
        #[arg(long)]
        json: bool,
    },
    /// Print each message that arrives, until interrupted (or --count/--timeout).
    Listen {
        /// The account whose messages to print, by id or display name.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Exit after this many messages.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Exit after this many seconds (status 1 if --count messages did not arrive).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// One JSON object per message: from, text, time.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PresenceCommand {
    /// Publish your status and keep it up until interrupted (or --duration); on exit it is
    /// withdrawn, so watchers see you offline.
    Set {
        /// available, away, busy (do not disturb: calls are answered busy), on-the-phone,
        /// or offline (appear offline).
        status: String,
        /// A note shown with the status.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// The account, by id or display name (default: the first with a registrar).
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Exit after this many seconds.
        #[arg(long, value_name = "SECS")]
        duration: Option<u64>,
    },
    /// Print each contact's status as it changes, until interrupted (or --count/--timeout).
    Watch {
        /// The contacts: sip:user@domain, user@domain, or a user at the account's domain.
        #[arg(required = true)]
        uris: Vec<String>,
        /// The account, by id or display name.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Exit after this many lines.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Exit after this many seconds (status 1 if --count lines did not arrive).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
        /// One JSON object per change: uri, status (available, away, busy, on-the-phone,
        /// offline, unknown), note.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check the configuration file without changing it; exit status 1 if it is broken.
    Check,
    /// Print the path of the configuration file in use.
    Path,
}

/// A failure to report as `homeline: <reason>` with exit status 1.
pub(crate) struct Failure(pub(crate) String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = logging::init_cli_logging(cli.verbose) {
        eprintln!("homeline: warning: {e}");
    }
    if let Command::Diagnose {
        account,
        json,
        apply,
        no_background,
    } = cli.command
    {
        return match diagnose::diagnose(cli.config, account, json, apply, no_background) {
            Ok(false) => ExitCode::SUCCESS,
            Ok(true) => ExitCode::FAILURE,
            Err(Failure(reason)) => {
                eprintln!("homeline: {}", reason.replace('\n', " "));
                ExitCode::FAILURE
            }
        };
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(reason)) => {
            // One line, whatever the reason holds.
            eprintln!("homeline: {}", reason.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Devices { json } => devices(json),
        Command::Relays { account, json } => relays::run(cli.config, account.as_deref(), json),
        Command::Register {
            account,
            timeout,
            json,
        } => register::run(cli.config, account.as_deref(), timeout, json),
        Command::Call {
            uri,
            account,
            duration,
            json,
            audio,
        } => call::call(
            cli.config,
            &uri,
            account.as_deref(),
            duration,
            audio.into_args(false),
            json,
        ),
        Command::Answer {
            account,
            listen,
            count,
            duration,
            json,
            audio,
            echo,
        } => call::answer(
            cli.config,
            account.as_deref(),
            listen,
            count,
            duration,
            audio.into_args(echo),
            json,
        ),
        // Handled in `main` (its exit status depends on the report).
        Command::Diagnose { .. } => Ok(()),
        Command::Message { command } => match command {
            MessageCommand::Send {
                uri,
                text,
                account,
                timeout,
                json,
            } => message::send(cli.config, &uri, &text, account.as_deref(), timeout, json),
            MessageCommand::Listen {
                account,
                count,
                timeout,
                json,
            } => message::listen(cli.config, account.as_deref(), count, timeout, json),
        },
        Command::Presence { command } => match command {
            PresenceCommand::Set {
                status,
                note,
                account,
                duration,
            } => presence::set(cli.config, &status, note, account.as_deref(), duration),
            PresenceCommand::Watch {
                uris,
                account,
                count,
                timeout,
                json,
            } => presence::watch(cli.config, &uris, account.as_deref(), count, timeout, json),
        },
        Command::Voicemail {
            account,
            follow,
            timeout,
            json,
        } => presence::voicemail(cli.config, account.as_deref(), follow, timeout, json),
        Command::Headset { command } => match command {
            HeadsetCommand::List { json } => headset::list(json),
            HeadsetCommand::Inspect { descriptor, json } => headset::inspect(&descriptor, json),
            HeadsetCommand::Monitor { device } => headset::monitor(device.as_deref()),
        },
        Command::Config { command } => {
            let path = config_path(cli.config)?;
            match command {
                ConfigCommand::Check => check(&path),
                ConfigCommand::Path => {
                    println!("{}", path.display());
                    Ok(())
                }
            }
        }
    }
}

fn config_path(given: Option<PathBuf>) -> Result<PathBuf, Failure> {
    match given {
        Some(p) => Ok(p),
        None => config::default_config_path().map_err(|e| Failure(e.to_string())),
    }
}

fn check(path: &Path) -> Result<(), Failure> {
    match config::check(path) {
        Ok(checked) if !checked.exists => {
            println!(
                "OK: there is no configuration file at {}; the defaults apply",
                path.display()
            );
            Ok(())
        }
        Ok(checked) => {
            let n = checked.config.accounts.len();
            println!(
                "OK: {} is valid ({n} account{})",
                path.display(),
                if n == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Err(problem) => Err(Failure(describe(&problem))),
    }
}

fn describe(problem: &ConfigProblem) -> String {
    problem.to_string()
}

fn devices(json: bool) -> Result<(), Failure> {
    let devices = homeline_phone::list_audio_devices();
    if json {
        let text = serde_json::to_string_pretty(&devices)
            .map_err(|e| Failure(format!("could not encode the device list: {e}")))?;
        println!("{text}");
    } else {
        print_devices(&devices);
    }
    match devices.error {
        Some(e) => Err(Failure(format!("{} {}", e.message, e.hint))),
        None => Ok(()),
    }
}

fn print_devices(devices: &AudioDevices) {
    println!("Audio system: {}", devices.host);
    for (title, list) in [("Inputs", &devices.inputs), ("Outputs", &devices.outputs)] {
        println!("{title}:");
        if list.is_empty() {
            println!("  (none found)");
        }
        for d in list {
            println!("  {}", device_line(d));
        }
    }
}

fn device_line(d: &AudioDevice) -> String {
    let rates: Vec<String> = d.sample_rates.iter().map(u32::to_string).collect();
    format!(
        "{}{} ({} ch; {} Hz)",
        if d.is_default { "* " } else { "  " },
        d.name,
        d.channels,
        if rates.is_empty() {
            "?".to_string()
        } else {
            rates.join(", ")
        }
    )
}
