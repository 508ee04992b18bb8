//! # homeline-lab — the network lab
