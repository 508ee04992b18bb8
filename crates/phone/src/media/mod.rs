//! Media at run time: one [`MediaStream`] per call drives the sans-IO RTP session, jitter
//! buffer and codec of `homeline-media` over a UDP socket, with the audio ends of
//! `homeline-audio` (devices, files, the echo loop).
//!
//! The call manager (`crate::calls`) binds a [`MediaSocket`] before the SDP exchange (its
//! port goes into the SDP, built with [`local_media`]), negotiates with `homeline-media`'s
//! offer/answer, then starts the stream with what was agreed. The stream's packets go
//! through a [`path::MediaPath`]: the socket, or a TURN relay when gathering chose one.

pub mod audio;
pub mod path;
pub mod stream;

use std::net::IpAddr;

use homeline_media::sdp::{AudioCodec, LocalMedia};

pub use audio::AudioPlan;
/// Whether calls use SDES-SRTP ([`crate::calls::CallsConfig::srtp`]).
pub use homeline_media::sdp::SrtpPolicy;
pub use stream::{LevelReading, MediaEvent, MediaSocket, MediaStats, MediaStream};

/// Our media description for a call: Opus, PCMU, PCMA and telephone-event at 20 ms,
/// `sendrecv`, SDES-SRTP offered (best effort) with a fresh key, on `address:port`.
pub fn local_media(address: IpAddr, port: u16, session_id: u64, srtp: SrtpPolicy) -> LocalMedia {
    let mut m = LocalMedia::new(address, port, session_id);
    m.codecs = vec![AudioCodec::Opus, AudioCodec::Pcmu, AudioCodec::Pcma];
    m.username = "homeline".into();
    m.srtp = srtp;
    m.srtp_key = match srtp {
        SrtpPolicy::Off => None,
        _ => match homeline_media::srtp::random_key() {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(error = %e, "no random SRTP key; offering plain RTP");
                None
            }
        },
    };
    m
}
