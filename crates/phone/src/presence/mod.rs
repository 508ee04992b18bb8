//! Presence and instant messages at run time, over the sans-IO cores of `homeline-sip`
//! ([`homeline_sip::pager`] for MESSAGE).
//!
//! ```text
//!  Phone::send_message(account, uri, text)
//!     └─ CallCommand::Chat → the account's driver (sip/driver.rs) → Pager::send
//!  the driver's pump: Pager events → SipRuntime's broadcast of AccountMessage
//!     └─ Phone::subscribe_messages()   (CLI `message listen`, the app's chat)
//! ```
//! Messages travel on the account's registration flow, the one path known to get through
//! the NAT, so an account must be started (registering) for them to go out.

pub mod agent;
pub mod chat;
