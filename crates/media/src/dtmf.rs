//! DTMF as RFC 4733 telephone-events (§2.3 payload format).
//!
//! ```text
//!  0                   1                   2                   3
//!  |     event     |E|R| volume    |          duration             |
//! ```
//! Sending (§2.5.1): all packets of one event share the RTP timestamp of its start; the first
//! carries the marker bit; updates every packet interval carry the growing duration; the end is
//! sent three times with the E bit (§2.5.1.4 recommends the retransmission). Receiving
//! (§2.5.2): packets are grouped by timestamp, so the redundant end packets and retransmitted
//! updates produce exactly one digit.

/// Why a telephone-event payload is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("telephone-event payload is {0} bytes, needs 4")]
    BadLength(usize),
    #[error("DTMF event `{0}` is not 0-9, *, #, A-D")]
    UnknownDigit(char),
}

/// One decoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    pub event: u8,
    pub end: bool,
    /// Power level in -dBm0 (0-63).
    pub volume: u8,
    /// In timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    pub fn parse(b: &[u8]) -> Result<Self, DtmfError> {
        // Multiple events may be stacked (§2.4, redundancy via RFC 2198 is separate); a plain
        // payload is exactly 4 bytes, we read the first event of a longer one.
        if b.len() < 4 {
            return Err(DtmfError::BadLength(b.len()));
        }
        Ok(TelephoneEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            if self.end { 0x80 } else { 0 } | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// The event code of a DTMF digit (RFC 4733 §3.2 table 1).
pub fn digit_to_event(d: char) -> Result<u8, DtmfError> {
    Ok(match d {
        '0'..='9' => d as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => d as u8 - b'A' + 12,
        'a'..='d' => d as u8 - b'a' + 12,
        _ => return Err(DtmfError::UnknownDigit(d)),
    })
}

/// The digit of an event code, `None` for non-DTMF events (flash = 16 etc.).
pub fn event_to_digit(e: u8) -> Option<char> {
    match e {
        0..=9 => Some((b'0' + e) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + e - 12) as char),
        _ => None,
    }
}

/// Produces the packet payloads of one event. Time is the caller's: call
/// [`DtmfSender::next_packet`] once per packet interval.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    event: u8,
    volume: u8,
    total: u32,
    step: u32,
    elapsed: u32,
    ends_sent: u8,
}

/// One packet to send: payload, and whether it is the first (marker bit, §2.5.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtmfPacket {
    pub payload: [u8; 4],
    pub marker: bool,
    pub end: bool,
}

impl DtmfSender {
    /// `total` and `step` (packet interval) in timestamp units. Durations beyond 0xffff are
    /// clamped (a 1.3 s tone at 48 kHz; long tones would need segments, §2.5.1.3).
    pub fn new(event: u8, volume: u8, total: u32, step: u32) -> Self {
        DtmfSender {
            event,
            volume: volume.min(63),
            total: total.clamp(1, u16::MAX as u32),
            step: step.max(1),
            elapsed: 0,
            ends_sent: 0,
        }
    }

    /// The next payload, `None` once the three end packets have gone.
    pub fn next_packet(&mut self) -> Option<DtmfPacket> {
        if self.ends_sent >= 3 {
            return None;
        }
        let first = self.elapsed == 0;
        self.elapsed = (self.elapsed + self.step).min(self.total);
        let end = self.elapsed >= self.total;
        if end {
            self.ends_sent += 1;
        }
        Some(DtmfPacket {
            payload: TelephoneEvent {
                event: self.event,
                end,
                volume: self.volume,
                duration: self.elapsed as u16,
            }
            .to_bytes(),
            marker: first,
            end,
        })
    }

    pub fn is_done(&self) -> bool {
        self.ends_sent >= 3
    }
}

/// What the receiver reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfEvent {
    /// A key went down.
    Start { event: u8 },
    /// The key went up; `duration` in timestamp units.
    End { event: u8, duration: u16 },
}

/// Turns telephone-event packets into one Start and one End per key press, deduplicated by
/// RTP timestamp (§2.5.2.1).
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    current: Option<(u32, u8, u16)>,
    last_ended_ts: Option<u32>,
}

impl DtmfReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one packet; returns up to two events (an unfinished previous event is ended
    /// when a new one starts, since its end packets were all lost).
    pub fn handle(&mut self, timestamp: u32, payload: &[u8]) -> Result<Vec<DtmfEvent>, DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        let mut out = Vec::new();
        if self.last_ended_ts == Some(timestamp) {
            return Ok(out); // a redundant end packet or a late update of a finished event
        }
        match self.current {
            Some((ts, e, d)) if ts == timestamp => {
                self.current = Some((ts, e, d.max(ev.duration)));
            }
            Some((ts, e, d)) => {
                // Only move forward: a late packet of an older event is ignored.
                if timestamp.wrapping_sub(ts) as i32 <= 0 {
                    return Ok(out);
                }
                out.push(DtmfEvent::End {
                    event: e,
                    duration: d,
                });
                self.last_ended_ts = Some(ts);
                out.push(DtmfEvent::Start { event: ev.event });
                self.current = Some((timestamp, ev.event, ev.duration));
            }
            None => {
                if let Some(last) = self.last_ended_ts
                    && timestamp.wrapping_sub(last) as i32 <= 0
                {
                    return Ok(out);
                }
                out.push(DtmfEvent::Start { event: ev.event });
                self.current = Some((timestamp, ev.event, ev.duration));
            }
        }
        if ev.end
            && let Some((ts, e, d)) = self.current.take()
        {
            out.push(DtmfEvent::End {
                event: e,
                duration: d,
            });
            self.last_ended_ts = Some(ts);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip_and_digits() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 1600,
        };
        assert_eq!(e.to_bytes(), [11, 0x8a, 0x06, 0x40]);
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()).unwrap(), e);
        assert!(TelephoneEvent::parse(&[1, 2]).is_err());
        for (d, n) in [
            ('0', 0),
            ('9', 9),
            ('*', 10),
            ('#', 11),
            ('A', 12),
            ('D', 15),
        ] {
            assert_eq!(digit_to_event(d).unwrap(), n);
            assert_eq!(event_to_digit(n), Some(d));
        }
        assert!(digit_to_event('x').is_err());
        assert_eq!(event_to_digit(16), None);
    }

    #[test]
    fn sender_emits_updates_then_three_ends() {
        // 100 ms at 8 kHz = 800, packets every 20 ms = 160.
        let mut s = DtmfSender::new(5, 10, 800, 160);
        let pkts: Vec<_> = std::iter::from_fn(|| s.next_packet()).collect();
        assert_eq!(pkts.len(), 5 + 2);
        assert!(pkts[0].marker && pkts[1..].iter().all(|p| !p.marker));
        let durs: Vec<u16> = pkts
            .iter()
            .map(|p| TelephoneEvent::parse(&p.payload).unwrap().duration)
            .collect();
        assert_eq!(durs, vec![160, 320, 480, 640, 800, 800, 800]);
        assert_eq!(pkts.iter().filter(|p| p.end).count(), 3);
        assert!(s.is_done());
    }

    #[test]
    fn receiver_dedupes_by_timestamp() {
        let mut r = DtmfReceiver::new();
        let mut s = DtmfSender::new(1, 10, 800, 160);
        let mut events = Vec::new();
        while let Some(p) = s.next_packet() {
            events.extend(r.handle(1000, &p.payload).unwrap());
            // Every packet arrives twice.
            events.extend(r.handle(1000, &p.payload).unwrap());
        }
        assert_eq!(
            events,
            vec![
                DtmfEvent::Start { event: 1 },
                DtmfEvent::End {
                    event: 1,
                    duration: 800
                }
            ]
        );
        // Only the end packets of the next digit arrive: still one Start and one End.
        let end = TelephoneEvent {
            event: 2,
            end: true,
            volume: 10,
            duration: 640,
        }
        .to_bytes();
        let ev: Vec<_> = (0..3).flat_map(|_| r.handle(5000, &end).unwrap()).collect();
        assert_eq!(
            ev,
            vec![
                DtmfEvent::Start { event: 2 },
                DtmfEvent::End {
                    event: 2,
                    duration: 640
                }
            ]
        );
        // All end packets of a digit lost: the next digit ends it.
        let upd = TelephoneEvent {
            event: 3,
            end: false,
            volume: 10,
            duration: 160,
        }
        .to_bytes();
        assert_eq!(
            r.handle(9000, &upd).unwrap(),
            vec![DtmfEvent::Start { event: 3 }]
        );
        let four = TelephoneEvent {
            event: 4,
            ..TelephoneEvent::parse(&upd).unwrap()
        }
        .to_bytes();
        assert_eq!(
            r.handle(12000, &four).unwrap(),
            vec![
                DtmfEvent::End {
                    event: 3,
                    duration: 160
                },
                DtmfEvent::Start { event: 4 }
            ]
        );
        // A stale packet of the old digit is ignored.
        assert!(r.handle(9000, &upd).unwrap().is_empty());
    }
}
