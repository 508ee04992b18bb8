//! # homeline-media — sans-IO media
//!
//! (work in progress)
#![forbid(unsafe_code)]

pub mod rng;
pub mod rtcp;
pub mod rtp;
pub mod sdp;

/// Every error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sdp(#[from] sdp::SdpError),
    #[error(transparent)]
    OfferAnswer(#[from] sdp::OfferAnswerError),
    #[error(transparent)]
    Crypto(#[from] sdp::CryptoError),
    #[error(transparent)]
    Rtp(#[from] rtp::RtpError),
    #[error(transparent)]
    Rtcp(#[from] rtcp::RtcpError),
}
