//! The telephony controls of a HID report descriptor.
//!
//! The descriptor is parsed by [`hidreport`] (Peter Hutterer's hidutils); names come from [`hut`].
//! This module only *selects*: every field of a top-level collection on the Telephony page
//! (0x0B) whose usage is on the Telephony page, plus the LED-page outputs of that collection.
//! Usages are always compared as full 32-bit page/ID pairs, so a vendor collection that repeats
//! the telephony layout on its own page (the Jabra EVOLVE LINK MS does, on 0xFF30/0xFF40) is
//! never taken for telephony.
//!
//! One gap of `hidreport` 0.6 is filled here: it keeps no usage, flag or collection for a field
//! flagged Constant. Some real dongles flag working hook and mute buttons Constant (Chromium's
//! WebHID test data has one), so those fields are kept and reported with their flag. For them we
//! read `hidreport`'s own item stream (`hidreport::hid`) to learn the usages, flags and
//! top-level collection of the main item at the field's offset. No descriptor byte is decoded
//! here by hand.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;

use hidreport::hid::{
    GlobalItem, Item as _, ItemType, LocalItem, MainDataItem as _, MainItem, ReportDescriptorItems,
};
use hidreport::{Field, FieldAttributes as _, ReportDescriptor};

/// Usage page numbers used here (HID Usage Tables 1.5, §3 and §11).
pub const PAGE_TELEPHONY: u16 = 0x0B;
/// The LED page (HUT §11).
pub const PAGE_LED: u16 = 0x08;

/// Input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Device to host.
    Input,
    /// Host to device.
    Output,
}

/// One telephony or LED control of the descriptor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Control {
    /// Input or output.
    pub direction: Direction,
    /// Usage page (0x0B Telephony or 0x08 LED).
    pub usage_page: u16,
    /// Usage ID; for an array the first usage of its range.
    pub usage_id: u16,
    /// For an array (the keypad): the last usage ID of its range.
    pub usage_id_max: Option<u16>,
    /// The usage's name from the HID Usage Tables, e.g. "Hook Switch".
    pub name: String,
    /// The report ID, `None` when the device uses none.
    pub report_id: Option<u8>,
    /// Bit offset from the first bit after the report-ID byte.
    pub bit_offset: usize,
    /// Size in bits (an array: of all its elements).
    pub bit_size: usize,
    /// Logical minimum.
    pub logical_min: i32,
    /// Logical maximum.
    pub logical_max: i32,
    /// Relative (a press toggles) rather than absolute (a state; act on its edges).
    pub relative: bool,
    /// The descriptor flags the field Constant. Still reported: some dongles flag real buttons so.
    pub constant: bool,
    /// An array (an index of the pressed usage) rather than a variable.
    pub array: bool,
}

impl Control {
    /// The full 32-bit usage (page << 16 | id).
    pub fn usage(&self) -> u32 {
        (u32::from(self.usage_page) << 16) | u32::from(self.usage_id)
    }

    /// True if this control is the usage `page`/`id`.
    pub fn is(&self, page: u16, id: u16) -> bool {
        self.usage_page == page && self.usage_id == id && !self.array
    }
}

/// The telephony part of a report descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelephonyLayout {
    /// Telephony inputs and outputs and LED outputs, in descriptor order per direction.
    pub controls: Vec<Control>,
    /// Whether the device prefixes its reports with a report ID.
    pub uses_report_ids: bool,
    /// Size in bytes (with the report-ID byte) of each input report that holds a control.
    pub input_report_len: BTreeMap<Option<u8>, usize>,
    /// Size in bytes (with the report-ID byte) of each output report that holds a control.
    pub output_report_len: BTreeMap<Option<u8>, usize>,
    /// Usages (page, id) of the top-level Telephony collections, e.g. (0x0B, 0x05) Headset.
    pub collections: Vec<(u16, u16)>,
}

/// Why a descriptor could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    /// The bytes are not a valid report descriptor.
    #[error("the report descriptor is not valid: {0}")]
    Invalid(String),
    /// The hex text holds something other than hex digits and whitespace.
    #[error("the text is not hex: {0}")]
    NotHex(String),
}

/// Decodes hex text (whitespace ignored, as `xxd -p` prints it) into bytes.
pub fn decode_hex_text(text: &str) -> Result<Vec<u8>, DescriptorError> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(digits).map_err(|e| DescriptorError::NotHex(e.to_string()))
}

/// The usage name from the HID Usage Tables, or the numbers when the tables do not know it.
pub fn usage_name(page: u16, id: u16) -> String {
    match hut::Usage::new_from_page_and_id(page, id) {
        Ok(u) => u.name(),
        Err(_) => format!("usage 0x{page:04X}/0x{id:04X}"),
    }
}

/// What the item stream says about one main (Input/Output) item.
#[derive(Debug, Clone)]
struct MainItemFacts {
    usages: Vec<(u16, u16)>,
    report_size: usize,
    logical: (i32, i32),
    relative: bool,
    top_collection: Option<(u16, u16)>,
}

/// Walks `hidreport`'s item stream and notes, for each Input/Output item offset, the usages
/// declared for it (resolved at the main item, as `hidreport` and Linux do), its Relative flag and
/// the usage of its top-level collection. Used only for Constant fields, which `hidreport`
/// stores without any of these.
fn main_item_facts(bytes: &[u8]) -> BTreeMap<usize, MainItemFacts> {
    let mut out = BTreeMap::new();
    let Ok(items) = ReportDescriptorItems::try_from(bytes) else {
        return out;
    };
    // The globals this needs, with Push/Pop: usage page, report size, logical range.
    #[derive(Clone, Copy, Default)]
    struct Globals {
        page: Option<u16>,
        size: usize,
        min: i32,
        max: i32,
    }
    let mut stack: Vec<Globals> = vec![Globals::default()];
    // Local usages since the last main item: (explicit page, id).
    let mut locals: Vec<(Option<u16>, u16)> = Vec::new();
    let mut depth = 0usize;
    let mut top: Option<(u16, u16)> = None;
    for it in items.iter() {
        let g = stack.last().copied().unwrap_or_default();
        let page = g.page;
        let set = |stack: &mut Vec<Globals>, f: &dyn Fn(&mut Globals)| {
            if let Some(last) = stack.last_mut() {
                f(last);
            }
        };
        match it.item().item_type() {
            ItemType::Global(GlobalItem::UsagePage(p)) => {
                set(&mut stack, &|g| g.page = Some(u16::from(&p)));
            }
            ItemType::Global(GlobalItem::ReportSize(n)) => {
                set(&mut stack, &|g| g.size = usize::from(&n));
            }
            ItemType::Global(GlobalItem::LogicalMinimum(n)) => {
                set(&mut stack, &|g| g.min = i32::from(&n));
            }
            ItemType::Global(GlobalItem::LogicalMaximum(n)) => {
                set(&mut stack, &|g| g.max = i32::from(&n));
            }
            ItemType::Global(GlobalItem::Push) => stack.push(g),
            ItemType::Global(GlobalItem::Pop) if stack.len() > 1 => {
                stack.pop();
            }
            ItemType::Local(LocalItem::Usage(p, id)) => {
                locals.push((Some(u16::from(&p)), u16::from(&id)));
            }
            ItemType::Local(LocalItem::UsageId(id)) => locals.push((None, u16::from(&id))),
            ItemType::Main(MainItem::Collection(_)) => {
                if depth == 0 {
                    top = locals.first().map(|(p, id)| (p.or(page).unwrap_or(0), *id));
                }
                depth += 1;
                locals.clear();
            }
            ItemType::Main(MainItem::EndCollection) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    top = None;
                }
                locals.clear();
            }
            ItemType::Main(main) => {
                let relative = match main {
                    MainItem::Input(i) => i.is_relative(),
                    MainItem::Output(o) => o.is_relative(),
                    MainItem::Feature(f) => f.is_relative(),
                    _ => false,
                };
                let usages = locals
                    .iter()
                    .map(|(p, id)| (p.or(page).unwrap_or(0), *id))
                    .collect();
                out.insert(
                    it.offset(),
                    MainItemFacts {
                        usages,
                        report_size: g.size,
                        logical: (g.min, g.max),
                        relative,
                        top_collection: top,
                    },
                );
                locals.clear();
            }
            _ => {}
        }
    }
    out
}

fn page_id(u: &hidreport::Usage) -> (u16, u16) {
    (u16::from(&u.usage_page), u16::from(&u.usage_id))
}

fn top_usage(collections: &[hidreport::Collection]) -> Option<(u16, u16)> {
    collections
        .first()
        .and_then(|c| c.usages().first())
        .map(page_id)
}

fn wanted(direction: Direction, top: Option<(u16, u16)>, page: u16) -> bool {
    let in_telephony = matches!(top, Some((PAGE_TELEPHONY, _)));
    in_telephony && (page == PAGE_TELEPHONY || (direction == Direction::Output && page == PAGE_LED))
}

/// The limits Linux hid-core puts on a descriptor (`HID_MAX_DESCRIPTOR_SIZE`, `report_size >
/// 256`, `HID_MAX_USAGES`): beyond them a device is broken, and hidreport would allocate one
/// field per count (a 16-bit Report Count on every item reaches gigabytes).
const MAX_DESCRIPTOR: usize = 4096;
const MAX_REPORT_SIZE: usize = 256;
const MAX_REPORT_COUNT: usize = 12288;
const MAX_TOTAL_FIELDS: usize = 65536;
/// The widest Usage Minimum..Maximum range accepted (Linux's `HID_MAX_USAGES`), and the most
/// usages all ranges together may expand to: hidreport keeps a copy per main item.
const MAX_USAGE_RANGE: u32 = 12288;
const MAX_TOTAL_USAGES: u64 = 262_144;

/// Refuses descriptors beyond those limits before hidreport builds its fields.
fn precheck(bytes: &[u8]) -> Result<(), DescriptorError> {
    if bytes.len() > MAX_DESCRIPTOR {
        return Err(DescriptorError::Invalid(format!(
            "it is {} bytes long, more than the {MAX_DESCRIPTOR} a device may have",
            bytes.len()
        )));
    }
    let items = ReportDescriptorItems::try_from(bytes)
        .map_err(|e| DescriptorError::Invalid(e.to_string()))?;
    // (Report Size, Report Count, a Usage Page is set) per Push level.
    let mut stack = vec![(0usize, 0usize, false)];
    let mut total = 0usize;
    // A Usage (or Usage Minimum/Maximum) without its own page waits for the next main item,
    // which resolves it with the Usage Page of that moment.
    let mut bare_usage = false;
    // The last Usage Minimum and Maximum seen: hidreport expands min..=max into one entry per
    // usage (and keeps them from one main item to the next), so a 32-bit range is gigabytes.
    let (mut usage_min, mut usage_max) = (None::<u32>, None::<u32>);
    let mut total_usages = 0u64;
    for it in items.iter() {
        let (size, count, page) = stack.last().copied().unwrap_or((0, 0, false));
        match it.item().item_type() {
            ItemType::Global(GlobalItem::ReportSize(n)) => {
                if let Some(top) = stack.last_mut() {
                    top.0 = usize::from(&n);
                }
            }
            ItemType::Global(GlobalItem::ReportCount(n)) => {
                if let Some(top) = stack.last_mut() {
                    top.1 = usize::from(&n);
                }
            }
            ItemType::Global(GlobalItem::UsagePage(_)) => {
                if let Some(top) = stack.last_mut() {
                    top.2 = true;
                }
            }
            ItemType::Global(GlobalItem::Push) => stack.push((size, count, page)),
            ItemType::Global(GlobalItem::Pop) if stack.len() > 1 => {
                stack.pop();
            }
            ItemType::Local(LocalItem::UsageId(_)) => bare_usage = true,
            ItemType::Local(LocalItem::UsageMinimum(v)) => {
                bare_usage = true;
                usage_min = Some(u32::from(v));
            }
            ItemType::Local(LocalItem::UsageMaximum(v)) => {
                bare_usage = true;
                usage_max = Some(u32::from(v));
            }
            ItemType::Main(main) => {
                // hidreport 0.6 panics ("Missing UsagePage in globals") on such a usage; it
                // is malformed HID, so it is refused here, before the parser sees it.
                if bare_usage && !page {
                    return Err(DescriptorError::Invalid(format!(
                        "a Usage before byte {} has no Usage Page",
                        it.offset()
                    )));
                }
                bare_usage = false;
                if let (Some(lo), Some(hi)) = (usage_min, usage_max)
                    && hi.saturating_sub(lo) > MAX_USAGE_RANGE
                {
                    return Err(DescriptorError::Invalid(format!(
                        "a usage range before byte {} spans {} usages, more than HID allows",
                        it.offset(),
                        u64::from(hi - lo) + 1
                    )));
                }
                if let (Some(lo), Some(hi)) = (usage_min, usage_max) {
                    total_usages += u64::from(hi.saturating_sub(lo)) + 1;
                    if total_usages > MAX_TOTAL_USAGES {
                        return Err(DescriptorError::Invalid(
                            "it declares too many usages".into(),
                        ));
                    }
                }
                if matches!(
                    main,
                    MainItem::Input(_) | MainItem::Output(_) | MainItem::Feature(_)
                ) {
                    if size > MAX_REPORT_SIZE || count > MAX_REPORT_COUNT {
                        return Err(DescriptorError::Invalid(format!(
                            "a field at byte {} is {size} bits x {count}, beyond what HID allows",
                            it.offset()
                        )));
                    }
                    total += count;
                    if total > MAX_TOTAL_FIELDS {
                        return Err(DescriptorError::Invalid(
                            "it declares too many fields".into(),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Parses a report descriptor and picks its telephony controls.
///
/// Malformed bytes give an error, never a panic (a descriptor comes from a device: remote input).
pub fn parse(bytes: &[u8]) -> Result<TelephonyLayout, DescriptorError> {
    if bytes.is_empty() {
        return Err(DescriptorError::Invalid("it is empty".into()));
    }
    precheck(bytes)?;
    // hidreport 0.6 panics on a few malformed inputs (e.g. a Usage before any Usage Page, an
    // Input item with too few usages); a device must not be able to crash us, so its panics
    // become an error here.
    let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| ReportDescriptor::try_from(bytes)));
    let rdesc = match parsed {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(DescriptorError::Invalid(e.to_string())),
        Err(_) => {
            return Err(DescriptorError::Invalid(
                "the descriptor parser gave up on it".into(),
            ));
        }
    };
    let facts = main_item_facts(bytes);
    let mut layout = TelephonyLayout::default();
    collect(Direction::Input, rdesc.input_reports(), &facts, &mut layout);
    collect(
        Direction::Output,
        rdesc.output_reports(),
        &facts,
        &mut layout,
    );
    for f in facts.values() {
        if let Some(t @ (PAGE_TELEPHONY, _)) = f.top_collection
            && !layout.collections.contains(&t)
        {
            layout.collections.push(t);
        }
    }
    Ok(layout)
}

fn collect<R: hidreport::Report>(
    direction: Direction,
    reports: &[R],
    facts: &BTreeMap<usize, MainItemFacts>,
    layout: &mut TelephonyLayout,
) {
    for report in reports {
        let report_id = report.report_id().map(|r| u8::from(&r));
        if report_id.is_some() {
            layout.uses_report_ids = true;
        }
        let id_bits = if report_id.is_some() { 8 } else { 0 };
        let mut any = false;
        for field in report.fields() {
            let bits = field.bits();
            let bit_offset = bits.start.saturating_sub(id_bits);
            let bit_size = bits.len();
            let control = match field {
                Field::Variable(v) => {
                    let (page, id) = page_id(&v.usage);
                    let top = top_usage(&v.collections);
                    if !wanted(direction, top, page) {
                        continue;
                    }
                    Control {
                        direction,
                        usage_page: page,
                        usage_id: id,
                        usage_id_max: None,
                        name: usage_name(page, id),
                        report_id,
                        bit_offset,
                        bit_size,
                        logical_min: i32::from(v.logical_minimum),
                        logical_max: i32::from(v.logical_maximum),
                        relative: v.is_relative(),
                        constant: false,
                        array: false,
                    }
                }
                Field::Array(a) => {
                    let Some(first) = a.usages().first() else {
                        continue;
                    };
                    let (page, id) = page_id(first);
                    let top = top_usage(&a.collections);
                    if !wanted(direction, top, page) {
                        continue;
                    }
                    let max = a.usages().last().map(|u| page_id(u).1);
                    Control {
                        direction,
                        usage_page: page,
                        usage_id: id,
                        usage_id_max: max,
                        name: usage_name(page, id),
                        report_id,
                        bit_offset,
                        bit_size,
                        logical_min: i32::from(a.logical_minimum),
                        logical_max: i32::from(a.logical_maximum),
                        relative: a.is_relative(),
                        constant: false,
                        array: true,
                    }
                }
                Field::Constant(_) => {
                    // The field ID is the main item's byte offset * 8 (hidreport's
                    // `handle_main_item`); its usages, flags and collection come from the
                    // item stream.
                    let offset = u32::from(&field.id()) as usize / 8;
                    let Some(f) = facts.get(&offset) else {
                        continue;
                    };
                    if f.usages.is_empty() {
                        continue; // padding
                    }
                    let size = f.report_size.max(1);
                    let mut added = false;
                    for (i, (page, id)) in f.usages.iter().copied().enumerate() {
                        if !wanted(direction, f.top_collection, page) {
                            continue;
                        }
                        if (i + 1) * size > bit_size {
                            break;
                        }
                        layout.controls.push(Control {
                            direction,
                            usage_page: page,
                            usage_id: id,
                            usage_id_max: None,
                            name: usage_name(page, id),
                            report_id,
                            bit_offset: bit_offset + i * size,
                            bit_size: size,
                            logical_min: f.logical.0,
                            logical_max: f.logical.1,
                            relative: f.relative,
                            constant: true,
                            array: false,
                        });
                        added = true;
                    }
                    any |= added;
                    continue;
                }
            };
            layout.controls.push(control);
            any = true;
        }
        if any {
            let len = report.size_in_bytes();
            match direction {
                Direction::Input => layout.input_report_len.insert(report_id, len),
                Direction::Output => layout.output_report_len.insert(report_id, len),
            };
        }
    }
}

impl TelephonyLayout {
    /// The first input control with this usage that is a variable.
    pub fn input(&self, page: u16, id: u16) -> Option<&Control> {
        self.controls
            .iter()
            .find(|c| c.direction == Direction::Input && c.is(page, id))
    }

    /// Every output control with this usage.
    pub fn outputs(&self, page: u16, id: u16) -> impl Iterator<Item = &Control> {
        self.controls
            .iter()
            .filter(move |c| c.direction == Direction::Output && c.is(page, id))
    }

    /// The value of each input control of this report (report-ID byte first when the device
    /// uses report IDs); empty for a report of another ID or one too short.
    pub fn input_values(&self, report: &[u8]) -> Vec<(&Control, u32)> {
        let (id, payload) = if self.uses_report_ids {
            match report.split_first() {
                Some((id, rest)) => (Some(*id), rest),
                None => return Vec::new(),
            }
        } else {
            (None, report)
        };
        self.controls
            .iter()
            .filter(|c| c.direction == Direction::Input && c.report_id == id)
            .filter_map(|c| {
                crate::machine::read_bits(payload, c.bit_offset, c.bit_size).map(|v| (c, v))
            })
            .collect()
    }

    /// The keypad (an input array on Phone Key 0 …), if any.
    pub fn keypad(&self) -> Option<&Control> {
        self.controls.iter().find(|c| {
            c.direction == Direction::Input
                && c.array
                && c.usage_page == PAGE_TELEPHONY
                && (usages::PHONE_KEY_0..=usages::PHONE_KEY_D).contains(&c.usage_id)
        })
    }

    /// True when the device has any telephony control at all.
    pub fn is_telephony(&self) -> bool {
        !self.controls.is_empty()
    }

    /// True when a button could answer or mute a call: a Hook Switch or Phone Mute input,
    /// even one flagged Constant (see the module docs).
    pub fn is_call_control(&self) -> bool {
        self.input(PAGE_TELEPHONY, usages::HOOK_SWITCH).is_some()
            || self.input(PAGE_TELEPHONY, usages::PHONE_MUTE).is_some()
    }
}

/// Usage IDs this crate acts on (HUT 1.5 §14 Telephony, §11 LED). The numbers are checked
/// against the `hut` tables in the tests.
pub mod usages {
    /// Telephony: Hook Switch (OOC).
    pub const HOOK_SWITCH: u16 = 0x20;
    /// Telephony: Flash (MC).
    pub const FLASH: u16 = 0x21;
    /// Telephony: Redial (OSC).
    pub const REDIAL: u16 = 0x24;
    /// Telephony: Drop (OSC).
    pub const DROP: u16 = 0x26;
    /// Telephony: Phone Mute (OOC).
    pub const PHONE_MUTE: u16 = 0x2F;
    /// Telephony: Ringer (OOC, output).
    pub const RINGER: u16 = 0x9E;
    /// Telephony: Phone Key 0.
    pub const PHONE_KEY_0: u16 = 0xB0;
    /// Telephony: Phone Key D (the last key).
    pub const PHONE_KEY_D: u16 = 0xBF;
    /// LED: Mute.
    pub const LED_MUTE: u16 = 0x09;
    /// LED: Off-Hook.
    pub const LED_OFF_HOOK: u16 = 0x17;
    /// LED: Ring.
    pub const LED_RING: u16 = 0x18;
    /// LED: Hold.
    pub const LED_HOLD: u16 = 0x20;
    /// LED: Microphone.
    pub const LED_MICROPHONE: u16 = 0x21;
}
