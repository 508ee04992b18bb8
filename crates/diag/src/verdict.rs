//! The overall verdict from the checks.
//!
//! * No check is a problem: **"Calls will work"**.
//! * Every problem is one the relay solves (its safe fixes include forcing the relay, alone or
//!   with a switch of transport) and a relay was tested and works: **"Calls will work with the
//!   relay"** — the fixes say what to switch on.
//! * Otherwise: **"Calls will fail: "** and the reason of the first problem in report order
//!   (the most basic one: no name, no UDP, no server ...).

use crate::model::{Check, CheckId, SafeFix, Status, Verdict, VerdictKind};

/// The verdict for these checks.
pub fn verdict(checks: &[Check]) -> Verdict {
    let mut problems: Vec<&Check> = checks
        .iter()
        .filter(|c| c.status == Status::Problem)
        .collect();
    problems.sort_by_key(|c| c.id);
    if problems.is_empty() {
        return Verdict {
            kind: VerdictKind::Works,
            text: "Calls will work".into(),
        };
    }
    let relay_works = checks.iter().any(|c| {
        c.id == CheckId::Relays
            && matches!(c.status, Status::Ok | Status::Warning)
            && c.details.get("chosen").is_some()
    });
    let relay_solves = |c: &Check| c.safe_fixes.contains(&SafeFix::ForceRelay);
    // A blocked SIP port is solved by its transport switch; it counts as solvable only together
    // with relay-solvable problems (otherwise the verdict is "fail" with the switch as the fix).
    let transport_solves = |c: &Check| {
        c.id == CheckId::SipPorts
            && c.safe_fixes
                .iter()
                .any(|f| matches!(f, SafeFix::Transport { .. }))
    };
    if relay_works
        && problems.iter().any(|c| relay_solves(c))
        && problems
            .iter()
            .all(|c| relay_solves(c) || transport_solves(c))
    {
        return Verdict {
            kind: VerdictKind::WorksWithRelay,
            text: "Calls will work with the relay".into(),
        };
    }
    let first = problems[0];
    let reason = first
        .reason
        .clone()
        .unwrap_or_else(|| first.id.title().to_lowercase());
    let mut text = format!("Calls will fail: {reason}");
    let more = problems.len() - 1;
    if more == 1 {
        text.push_str(" (and 1 more problem)");
    } else if more > 1 {
        text.push_str(&format!(" (and {more} more problems)"));
    }
    Verdict {
        kind: VerdictKind::Fails,
        text,
    }
}
