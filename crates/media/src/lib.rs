//! # homeline-media — sans-IO media
//!
//! (work in progress)
#![forbid(unsafe_code)]

pub mod rng;
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
}
