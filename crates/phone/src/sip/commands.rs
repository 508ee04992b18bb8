//! What the application asks of calls, the same for an account's driver and for a direct-call
//! endpoint: both own a [`CallLayer`] and a [`TransactionLayer`] and run a [`CallCommand`]
//! through [`execute`].
//!
//! SDP is made outside (the call manager owns the media and writes offers and answers);
//! signalling only carries it.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use homeline_sip::call::{CallError, CallHandle, CallLayer};
use homeline_sip::transaction::{Peer, TransactionLayer};
use tokio::sync::oneshot;

use crate::api::UiError;

/// Where our media should say it is, as the signalling sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignallingAddress {
    /// Our address on the flow to the server or peer (the interface that routes there).
    pub local: IpAddr,
    /// Our address as the registrar saw it (`received`, RFC 3581), when it differs: we are
    /// behind a NAT.
    pub public: Option<IpAddr>,
}

/// A request to an account's driver or a direct endpoint about its calls.
#[derive(Debug)]
pub enum CallCommand {
    /// Where the SDP of a new call should point (asked before [`CallCommand::Dial`]).
    Address(oneshot::Sender<SignallingAddress>),
    /// Places a call to `uri` with the SDP `offer`. `next_hop` is where the INVITE goes when
    /// the endpoint has no server of its own (a direct call); an account's driver sends it
    /// through its registration flow and ignores it.
    Dial {
        /// The Request-URI.
        uri: String,
        /// The SDP offer.
        offer: Vec<u8>,
        /// The next hop of a direct call.
        next_hop: Option<SocketAddr>,
        /// The new call's handle, or why it could not be placed.
        reply: oneshot::Sender<Result<CallHandle, UiError>>,
    },
    /// `180 Ringing`.
    Ring(CallHandle),
    /// `200 OK` with this SDP (the answer to the INVITE's offer, or our offer).
    Answer(CallHandle, Vec<u8>),
    /// Reject with this status (486, 488, 603 …).
    Reject(CallHandle, u16),
    /// CANCEL, decline or BYE, whatever fits the call's state.
    Hangup(CallHandle),
    /// A re-INVITE with a new offer (hold, resume).
    Update(CallHandle, Vec<u8>),
    /// `200 OK` to the peer's re-INVITE with our answer.
    AnswerUpdate(CallHandle, Vec<u8>),
    /// Refuse the peer's re-INVITE (488); the session stays as it was.
    RejectUpdate(CallHandle, u16),
    /// One DTMF digit in a SIP INFO (for peers without RFC 4733 telephone-event).
    Info(CallHandle, char),
    /// Blind transfer (REFER) of the call to this URI.
    Transfer(CallHandle, String),
    /// How the call we placed for the peer's REFER goes (NOTIFY with a sipfrag status).
    TransferProgress(CallHandle, u16, String),
    /// Not a call's: an instant message (see [`crate::presence::chat`]); an account's driver
    /// takes it before [`execute`].
    Chat(crate::presence::chat::ChatCommand),
    /// Not a call's: own status and watched contacts (see [`crate::presence::agent`]).
    Presence(crate::presence::agent::PresenceCommand),
}

/// Runs `command` on the cores. `Address` and `Dial` are answered through their reply
/// channels; refusals of the others are logged (the call's events tell the rest).
pub(crate) fn execute(
    calls: &mut CallLayer,
    layer: &mut TransactionLayer,
    now: Instant,
    command: CallCommand,
    address: SignallingAddress,
    default_peer: Option<Peer>,
) {
    let r: Result<(), CallError> = match command {
        CallCommand::Address(reply) => {
            let _ = reply.send(address);
            Ok(())
        }
        CallCommand::Dial {
            uri,
            offer,
            next_hop,
            reply,
        } => {
            let peer = next_hop
                .map(|addr| Peer {
                    transport: homeline_sip::transaction::TransportKind::Udp,
                    addr,
                })
                .or(default_peer);
            let result = match peer {
                Some(peer) => calls.dial(now, layer, &uri, offer, peer).map_err(|e| {
                    UiError::new(
                        "call_failed",
                        format!("Cannot call {uri}: {e}."),
                        "Check the number or address and try again.",
                    )
                }),
                None => Err(UiError::new(
                    "call_failed",
                    format!("Cannot call {uri}: there is no server to send the call to."),
                    "Check the account's registrar, or dial a full sip: address.",
                )),
            };
            let _ = reply.send(result);
            Ok(())
        }
        CallCommand::Ring(h) => calls.ring(now, layer, h),
        CallCommand::Answer(h, sdp) => calls.answer(now, layer, h, sdp),
        CallCommand::Reject(h, code) => calls.reject(now, layer, h, code),
        CallCommand::Hangup(h) => calls.hangup(now, layer, h),
        CallCommand::Update(h, offer) => calls.update(now, layer, h, offer),
        CallCommand::AnswerUpdate(h, sdp) => calls.answer_update(now, layer, h, sdp),
        CallCommand::RejectUpdate(h, code) => calls.reject_update(now, layer, h, code),
        CallCommand::Info(h, digit) => calls.send_dtmf(now, layer, h, digit, 160),
        CallCommand::Transfer(h, target) => calls.transfer(now, layer, h, &target),
        CallCommand::TransferProgress(h, code, reason) => {
            calls.transfer_progress(now, layer, h, code, &reason)
        }
        CallCommand::Chat(c) => {
            c.refuse_without_account();
            Ok(())
        }
        CallCommand::Presence(c) => {
            crate::presence::agent::refuse_without_account(c);
            Ok(())
        }
    };
    if let Err(e) = r {
        tracing::debug!(error = %e, "call command refused");
    }
}
