//! SDP: the session description model (RFC 8866, which obsoletes RFC 4566), its parser and
//! serializer ([`parse`]), SDES crypto attributes (RFC 4568, [`crypto`]) and the offer/answer
//! model (RFC 3264, [`offer_answer`]) and ICE attributes (RFC 8839, [`ice`]).

pub mod crypto;
pub mod ice;
pub mod offer_answer;
pub mod parse;

pub use crypto::{CryptoAttribute, CryptoError, SrtpSuite};
pub use ice::{
    CandidateTransport, CandidateType, IceCandidate, IceDescription, IgnoredAttribute,
    RemoteCandidate, TcpType,
};
pub use offer_answer::{
    AudioCodec, Direction, LocalMedia, NegotiatedSession, OfferAnswerError, PeerIce, SrtpPolicy,
    answer_offer, build_offer, process_answer,
};
pub use parse::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, SdpError, SessionDescription,
    Timing,
};
