//! A virtual headset through the kernel's uhid and the real hidapi backend: the Jabra
//! descriptor is created as a HID device, found by `backend::list`, opened, an output report
//! written by the host arrives at the device, an input report sent by the device is read by the
//! host. Runs where `/dev/uhid` exists (as root); prints "skipped: no /dev/uhid" elsewhere.
//! (Linux `include/uapi/linux/uhid.h`: packed `struct uhid_event`, 4-byte type + union.)
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use homeline_headset::{backend, descriptor};

const UHID_DESTROY: u32 = 1;
const UHID_OUTPUT: u32 = 6;
const UHID_CREATE2: u32 = 11;
const UHID_INPUT2: u32 = 12;
/// sizeof(struct uhid_event): the type and the largest member (uhid_create2_req).
const EVENT_SIZE: usize = 4 + 128 + 64 + 64 + 2 + 2 + 4 * 4 + 4096;

fn event(kind: u32) -> Vec<u8> {
    let mut e = vec![0u8; EVENT_SIZE];
    e[..4].copy_from_slice(&kind.to_ne_bytes());
    e
}

#[test]
fn a_uhid_headset_round_trips_through_hidapi() {
    if !Path::new("/dev/uhid").exists() {
        println!("skipped: no /dev/uhid");
        return;
    }
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jabra-evolve-link-ms.hex"),
    )
    .unwrap();
    let rd = descriptor::decode_hex_text(&text).unwrap();
    let mut uhid = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/uhid")
        .expect("open /dev/uhid (needs root)");
    let mut create = event(UHID_CREATE2);
    let name = b"Homeline uhid test headset";
    create[4..4 + name.len()].copy_from_slice(name);
    let mut at = 4 + 128 + 64 + 64;
    create[at..at + 2].copy_from_slice(&(rd.len() as u16).to_ne_bytes());
    create[at + 2..at + 4].copy_from_slice(&3u16.to_ne_bytes()); // BUS_USB
    at += 4;
    for v in [0x0b0e_u32, 0x0307, 1, 0] {
        create[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        at += 4;
    }
    create[at..at + rd.len()].copy_from_slice(&rd);
    uhid.write_all(&create).unwrap();

    // hidraw appears asynchronously: look for it for a few seconds.
    let mut found = None;
    for _ in 0..50 {
        if let Ok(list) = backend::list(&[]) {
            found = list
                .into_iter()
                .find(|h| h.product.contains("Homeline uhid test"));
        }
        if found.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let h = found.expect("the uhid headset is listed");
    assert!(h.layout.as_ref().unwrap().is_call_control());
    let (mut t, layout) = backend::open(&h.path, h.vendor_id).expect("opened");
    assert_eq!(
        layout.controls.len(),
        h.layout.as_ref().unwrap().controls.len()
    );

    // Host -> device: an output report arrives as UHID_OUTPUT.
    t.writer.write(&[2, 0x11, 0]).unwrap();
    let mut buf = vec![0u8; EVENT_SIZE];
    let data = loop {
        let n = uhid.read(&mut buf).unwrap();
        assert!(n >= 4);
        if u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) == UHID_OUTPUT {
            let size = u16::from_ne_bytes([buf[4 + 4096], buf[4 + 4097]]) as usize;
            break buf[4..4 + size].to_vec();
        }
    };
    assert_eq!(data, vec![2, 0x11, 0]);

    // Device -> host: an input report is read through hidapi.
    let mut input = event(UHID_INPUT2);
    input[4..6].copy_from_slice(&3u16.to_ne_bytes());
    input[6..9].copy_from_slice(&[2, 0x01, 0]);
    uhid.write_all(&input).unwrap();
    let mut rb = [0u8; 64];
    let n = t.reader.read(&mut rb, Duration::from_secs(5)).unwrap();
    assert_eq!(&rb[..n], &[2, 0x01, 0]);

    uhid.write_all(&event(UHID_DESTROY)).unwrap();
}
