//! The hidapi backend's pieces that run without a headset: pairing through a sysfs tree, the
//! name match, the udev rule; and a uhid round trip where `/dev/uhid` exists.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use homeline_headset::backend;

/// A sysfs tree with one USB headset (1-2) whose interface 1.3 has hidraw4 and interface 1.0
/// has sound card 1, and a second USB device (1-3) with sound card 0.
fn fake_sysfs(root: &Path) {
    use std::os::unix::fs::symlink;
    let usb = root.join("devices/pci0000:00/0000:00:14.0/usb1");
    for (dev, vid) in [("1-2", "0b0e"), ("1-3", "046d")] {
        std::fs::create_dir_all(usb.join(dev)).unwrap();
        std::fs::write(usb.join(dev).join("idVendor"), vid).unwrap();
    }
    let hid = usb.join("1-2/1-2:1.3/0003:0B0E:0307.0004");
    std::fs::create_dir_all(&hid).unwrap();
    let snd1 = usb.join("1-2/1-2:1.0");
    let snd0 = usb.join("1-3/1-3:1.0");
    std::fs::create_dir_all(&snd1).unwrap();
    std::fs::create_dir_all(&snd0).unwrap();
    std::fs::create_dir_all(root.join("class/hidraw/hidraw4")).unwrap();
    symlink(&hid, root.join("class/hidraw/hidraw4/device")).unwrap();
    for (card, dev, id) in [("card0", &snd0, "Webcam"), ("card1", &snd1, "Link")] {
        let c = root.join("class/sound").join(card);
        std::fs::create_dir_all(&c).unwrap();
        symlink(dev, c.join("device")).unwrap();
        std::fs::write(c.join("id"), format!("{id}\n")).unwrap();
    }
}

#[test]
fn the_sound_card_on_the_same_usb_device_is_paired() {
    let dir = tempfile::tempdir().unwrap();
    fake_sysfs(dir.path());
    let p = backend::pair_by_usb_parent(dir.path(), "/dev/hidraw4").expect("paired");
    assert_eq!(p.audio_device, "Link");
    assert_eq!(p.method, "usb_parent");
    assert!(backend::pair_by_usb_parent(dir.path(), "/dev/hidraw9").is_none());
}

#[test]
fn the_name_match_is_the_last_resort() {
    let audio = vec![
        "Built-in Audio Analog Stereo".to_string(),
        "Jabra EVOLVE LINK MS Analog Stereo".to_string(),
    ];
    let p = backend::pair_by_name("Jabra EVOLVE LINK MS", &audio).expect("matched");
    assert_eq!(p.audio_device, "Jabra EVOLVE LINK MS Analog Stereo");
    assert_eq!(p.method, "name");
    assert!(backend::pair_by_name("Poly BT700", &audio).is_none());
    assert!(backend::pair_by_name("", &audio).is_none());
}

#[test]
fn the_permission_problem_gives_the_exact_udev_rule() {
    let p = backend::permission_problem("/dev/hidraw3", 0x0b0e);
    assert_eq!(p.code, "headset_permission");
    assert!(p.message.contains("/dev/hidraw3"));
    assert!(p.hint.contains(
        r#"KERNEL=="hidraw*", SUBSYSTEM=="hidraw", ATTRS{idVendor}=="0b0e", TAG+="uaccess""#
    ));
    assert!(p.hint.contains("udevadm control --reload-rules"));
    // The shipped rule file holds the same line for Jabra.
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/udev/70-homeline-headset.rules"),
    )
    .unwrap();
    assert!(rules.contains(&backend::udev_rule(0x0b0e)));
}

#[test]
fn listing_without_a_headset_is_empty_not_an_error() {
    let found = backend::list(&[]).expect("hidapi lists");
    assert!(
        found
            .iter()
            .all(|h| h.layout.as_ref().is_some_and(|l| l.is_telephony()))
    );
}

fn headset(product: &str, card: Option<&str>) -> backend::HeadsetInfo {
    backend::HeadsetInfo {
        path: format!("/dev/hidraw-{product}"),
        vendor_id: 0x0b0e,
        product_id: 0x0307,
        manufacturer: "Vendor".into(),
        product: product.into(),
        layout: None,
        audio: card.map(|c| backend::AudioPairing {
            audio_device: c.into(),
            method: "usb_parent".into(),
        }),
        problem: None,
    }
}

#[test]
fn an_audio_device_is_recognised_as_the_headsets_own() {
    let link = headset("EVOLVE LINK MS", Some("Link"));
    // ALSA names carry the card id; desktop sound servers carry the product name.
    assert!(link.belongs_to_audio_device("sysdefault:CARD=Link"));
    assert!(link.belongs_to_audio_device("front:CARD=Link,DEV=0"));
    assert!(link.belongs_to_audio_device("Jabra EVOLVE LINK MS Analog Stereo"));
    // Another card whose id merely contains "link" is not it.
    assert!(!link.belongs_to_audio_device("sysdefault:CARD=Linkbuds"));
    assert!(!link.belongs_to_audio_device("Built-in Audio Analog Stereo"));
    assert!(!link.belongs_to_audio_device(""));
    // No sysfs pairing (another OS): the name match still works.
    let poly = headset("Poly BT700", None);
    assert!(poly.belongs_to_audio_device("Poly BT700 Mono"));
    assert!(!poly.belongs_to_audio_device("sysdefault:CARD=Link"));
}
