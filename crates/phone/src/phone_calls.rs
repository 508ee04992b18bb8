//! [`Phone`]'s calls: placing, taking and controlling calls over the call manager
//! ([`crate::calls`]), with the accounts and settings of the phone.

use std::sync::Arc;

use homeline_sip::auth::Credentials;

use crate::api::UiError;
use crate::calls::gather::{NatPlan, NatSettings};
use crate::calls::{CallView, Calls, CallsConfig, DialRequest, Route};
use crate::media::AudioPlan;
use crate::phone::Phone;

impl Phone {
    /// The call manager, started on first use (inside a tokio runtime) with the audio
    /// devices of Settings, ringing on the ring device, and the call history.
    pub fn calls(&self) -> Result<&Calls, UiError> {
        if let Some(c) = self.calls_cell().get() {
            return Ok(c);
        }
        let routes = self.audio_routes();
        let config = CallsConfig {
            default_audio: AudioPlan::Devices(routes.clone()),
            ring: Some(routes),
            ..self.base_calls_config()
        };
        self.start_calls_with(config, self.ended_hook())
    }

    /// Starts the call manager with other settings (the CLI: files instead of devices), and
    /// without the call history (scripted calls would crowd out the user's own). Does nothing
    /// if it already runs.
    pub fn start_calls(&self, config: CallsConfig) -> Result<&Calls, UiError> {
        self.start_calls_with(config, None)
    }

    /// What every call manager takes from the configuration file (the RTP timeout); silent,
    /// no ringing: the caller adds its audio.
    pub fn base_calls_config(&self) -> CallsConfig {
        let config = self.config();
        let timeout = config.network.rtp_timeout_secs;
        CallsConfig {
            rtp_timeout: (timeout > 0).then(|| std::time::Duration::from_secs(timeout.into())),
            nat: self.nat_settings(),
            ..CallsConfig::default()
        }
    }

    /// The STUN/TURN settings calls gather with: the global ones and each account's. A relay
    /// whose URI does not parse was refused when the file was read, so an error here leaves
    /// that line without relays (and says so) rather than without calls.
    pub fn nat_settings(&self) -> NatSettings {
        let config = self.config();
        let plan = |account: Option<&str>| {
            let relays = self.relay_targets(account).unwrap_or_else(|e| {
                tracing::warn!(error = %e.message, "relays left out of calls");
                Vec::new()
            });
            NatPlan {
                stun_servers: self.stun_servers(account),
                relays,
                force_relay: config.network.force_relay,
                ice: config.network.ice,
                tls_ca_file: config.network.tls_ca_file.clone(),
            }
        };
        NatSettings {
            global: plan(None),
            accounts: config
                .accounts
                .iter()
                .map(|a| (a.id.clone(), plan(Some(&a.id))))
                .collect(),
        }
    }

    fn start_calls_with(
        &self,
        config: CallsConfig,
        on_ended: Option<crate::calls::EndedHook>,
    ) -> Result<&Calls, UiError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(UiError::new(
                "no_runtime",
                "Calls need the network runtime, which is not running.",
                "This is a bug in the caller; please report it.",
            ));
        }
        let calls = self
            .calls_cell()
            .get_or_init(|| Calls::start(self.sip_runtime(), config, on_ended));
        self.share_media_encryption();
        Ok(calls)
    }

    /// Calls `target` from `account_id` (or as the dial rules decide when `None`): a number,
    /// a SIP address, or `echo` for the echo line.
    pub async fn dial(
        &self,
        target: &str,
        account_id: Option<&str>,
        audio: Option<AudioPlan>,
    ) -> Result<CallView, UiError> {
        let calls = self.calls()?;
        let (uri, route) = self.route_for(target, account_id)?;
        match route {
            Route::Echo => calls.echo_test(audio).await,
            route => {
                let srtp = match &route {
                    Route::Account(id)
                    | Route::Direct {
                        account_id: Some(id),
                        ..
                    } => self.media_encryption(id).and_then(explicit_policy),
                    _ => None,
                };
                calls
                    .dial(DialRequest {
                        uri,
                        route,
                        audio,
                        srtp,
                    })
                    .await
            }
        }
    }

    /// Where a call to `target` goes: the URI to call and the route.
    pub(crate) fn route_for(
        &self,
        target: &str,
        account_id: Option<&str>,
    ) -> Result<(String, Route), UiError> {
        let target = target.trim();
        if target.eq_ignore_ascii_case(crate::dialplan::ECHO_TARGET) {
            return Ok(("echo".into(), Route::Echo));
        }
        if account_id.is_none() {
            // The dial rules decide: a prefix picks its account (and is stripped), a number
            // goes to the default account, a SIP address of no account's domain is direct.
            let preview = self.dial_preview(target)?;
            return match preview.account_id {
                Some(id) => self.route_for(&preview.uri, Some(&id)),
                None if preview.uri == crate::dialplan::ECHO_TARGET => {
                    Ok(("echo".into(), Route::Echo))
                }
                None => Ok((
                    preview.uri,
                    Route::Direct {
                        account_id: None,
                        aor: None,
                        credentials: None,
                    },
                )),
            };
        }
        let accounts = self.list_accounts();
        let chosen = match account_id {
            Some(id) => Some(
                accounts
                    .iter()
                    .find(|a| a.id == id)
                    .ok_or_else(|| {
                        UiError::new(
                            "account_not_found",
                            format!("There is no account {id}."),
                            "Choose another account, or reload the list.",
                        )
                    })?
                    .clone(),
            ),
            None => None,
        };
        let uri = if target.contains(':') {
            target.to_owned()
        } else if target.contains('@') {
            format!("sip:{target}")
        } else {
            let Some(a) = chosen.as_ref() else {
                return Err(UiError::new(
                    "invalid_number",
                    format!("'{target}' is a number, and no account was chosen to call it."),
                    "Choose an account, or dial a full address like sip:bob@192.0.2.7.",
                ));
            };
            let domain = a.sip_address.rsplit('@').next().unwrap_or_default();
            let number: String = target.chars().filter(|c| !" -.()/".contains(*c)).collect();
            format!("sip:{number}@{domain}")
        };
        let route = match chosen {
            Some(a) if !a.registrar.trim().is_empty() => Route::Account(a.id.clone()),
            Some(a) => Route::Direct {
                account_id: Some(a.id.clone()),
                aor: Some(a.sip_address.clone()),
                credentials: self.password(&a.id).ok().flatten().map(|p| Credentials {
                    username: if a.auth_user.is_empty() {
                        crate::phone::user_part(&a.sip_address)
                    } else {
                        a.auth_user.clone()
                    },
                    password: p.expose().to_owned(),
                }),
            },
            None => Route::Direct {
                account_id: None,
                aor: None,
                credentials: None,
            },
        };
        Ok((uri, route))
    }

    /// An account's media encryption setting (`None`: no such account).
    pub(crate) fn media_encryption(&self, id: &str) -> Option<crate::config::MediaEncryption> {
        self.config()
            .accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.media_encryption)
    }

    /// Tells the call manager every account's media encryption (incoming calls use it).
    /// Gives a running call manager the STUN/TURN settings as they are now (after a change in
    /// Settings or a fix of the connectivity test, such as `force_relay`).
    pub(crate) fn share_nat_settings(&self) {
        if let Some(calls) = self.calls_cell().get() {
            calls.set_nat(self.nat_settings());
        }
    }

    pub(crate) fn share_media_encryption(&self) {
        if let Some(calls) = self.calls_cell().get() {
            for a in &self.config().accounts {
                calls.set_account_srtp(&a.id, explicit_policy(a.media_encryption));
            }
        }
    }

    /// Plays a test tone on the chosen speaker for `duration` and measures the chosen
    /// microphone, reporting levels about ten times a second (Settings → Audio → Test).
    pub async fn audio_test(
        &self,
        duration: std::time::Duration,
        on_level: impl FnMut(crate::media::LevelReading) + Send + 'static,
    ) -> Result<crate::audio_test::AudioTestSummary, UiError> {
        let routes = self.audio_routes();
        tokio::task::spawn_blocking(move || crate::audio_test::run(&routes, duration, on_level))
            .await
            .map_err(|e| {
                UiError::new(
                    "audio_test_failed",
                    format!("The audio test stopped: {e}."),
                    "Try again; if it repeats, report it with the log.",
                )
            })?
    }

    /// Calls the built-in echo line.
    pub async fn echo_test(&self) -> Result<CallView, UiError> {
        self.calls()?.echo_test(None).await
    }

    /// Hangs up every call and waits (at most `limit`) until they have ended (on exit).
    pub async fn hangup_all(&self, limit: std::time::Duration) {
        let Some(calls) = self.calls_cell().get() else {
            return;
        };
        for c in calls.list() {
            let _ = calls.hangup(&c.id).await;
        }
        let deadline = tokio::time::Instant::now() + limit;
        while !calls.list().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Calls not yet ended.
    pub fn list_calls(&self) -> Vec<CallView> {
        self.calls_cell().get().map(Calls::list).unwrap_or_default()
    }

    /// Every ended call goes into the history (off the call manager's task: the journal
    /// syncs to disk).
    fn ended_hook(&self) -> Option<crate::calls::EndedHook> {
        let history = self.shared_history();
        Some(Arc::new(move |v: &CallView| {
            let entry = history_entry(v);
            let history = history.clone();
            let write = move || {
                if let Err(e) = history.with(|h| h.append(entry)) {
                    tracing::warn!(error = %e, "the call could not be added to the history");
                }
            };
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn_blocking(write);
                }
                Err(_) => write(),
            }
        }))
    }
}

/// The history entry of an ended call.
pub(crate) fn history_entry(v: &CallView) -> crate::api::HistoryEntry {
    crate::api::HistoryEntry {
        id: v.id.clone(),
        account_id: v.account_id.clone(),
        direction: v.direction,
        remote: v.remote.clone(),
        remote_name: v.remote_name.clone(),
        started_at: v.started_at,
        answered_at: v.answered_at,
        ended_at: v.ended_at.unwrap_or(v.started_at),
        outcome: v.outcome.unwrap_or(crate::api::CallOutcome::Failed),
        reason: v.end_reason.as_ref().map(|r| r.message.clone()),
    }
}

/// An account's encryption setting when it says something (`required`, `off`); `optional`, the
/// default, leaves the call manager's default (the CLI's `--srtp`, else optional).
fn explicit_policy(m: crate::config::MediaEncryption) -> Option<homeline_media::sdp::SrtpPolicy> {
    (m != crate::config::MediaEncryption::Optional).then(|| m.policy())
}
