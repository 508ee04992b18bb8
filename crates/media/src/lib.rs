//! # homeline-media — sans-IO media
//!
//! (work in progress)
#![forbid(unsafe_code)]

pub mod codec;
pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod rng;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod session;

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
    #[error(transparent)]
    Dtmf(#[from] dtmf::DtmfError),
    #[error(transparent)]
    Session(#[from] session::SessionError),
    #[error(transparent)]
    Codec(#[from] codec::CodecError),
}
