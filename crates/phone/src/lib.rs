//! # homeline-phone — the runtime
#![forbid(unsafe_code)]
