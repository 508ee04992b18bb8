use super::*;

fn input(name: &str, address: &str, note: &str) -> ContactInput {
    ContactInput {
        id: None,
        name: name.into(),
        address: address.into(),
        note: note.into(),
    }
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join(CONTACTS_FILE_NAME);
    (dir, path)
}

#[test]
fn missing_file_is_an_empty_book_and_is_not_created_by_reading() {
    let (_dir, path) = fixture();
    let book = ContactStore::open(&path).unwrap();
    assert!(book.list().is_empty());
    assert!(!path.exists());
}

#[test]
fn add_edit_remove_are_written_through_and_survive_a_reopen() {
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    let bob = book
        .save(input(
            "  Bob Builder ",
            " sip:bob@example.com ",
            "site office",
        ))
        .unwrap();
    assert_eq!(bob.name, "Bob Builder", "trimmed");
    assert_eq!(bob.address, "sip:bob@example.com");
    assert_eq!(bob.id.len(), 16);
    let alice = book.save(input("alice", "+44 20 7946 0958", "")).unwrap();
    assert_ne!(alice.id, bob.id);

    let reopened = ContactStore::open(&path).unwrap();
    assert_eq!(
        reopened.list(),
        vec![alice.clone(), bob.clone()],
        "sorted by name, any case"
    );

    let mut edit = input("Robert Builder", "bob@example.com", "");
    edit.id = Some(bob.id.clone());
    let robert = book.save(edit).unwrap();
    assert_eq!(robert.id, bob.id);
    assert_eq!(
        ContactStore::open(&path).unwrap().get(&bob.id),
        Some(&robert),
        "the edit is on disk"
    );

    book.remove(&alice.id).unwrap();
    assert_eq!(ContactStore::open(&path).unwrap().list(), vec![robert]);
    assert!(matches!(
        book.remove(&alice.id),
        Err(ContactsError::NotFound(id)) if id == alice.id
    ));
}

#[test]
fn editing_an_unknown_id_is_not_found_and_adds_nothing() {
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    let mut edit = input("Ghost", "sip:ghost@example.com", "");
    edit.id = Some("0123456789abcdef".into());
    assert!(matches!(book.save(edit), Err(ContactsError::NotFound(_))));
    assert!(book.list().is_empty());
    assert!(!path.exists());
}

#[test]
fn invalid_input_names_the_field_and_changes_nothing() {
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    let cases = [
        (input(" ", "sip:a@b.c", ""), ContactField::Name),
        (input("A\nB", "sip:a@b.c", ""), ContactField::Name),
        (
            input(&"x".repeat(MAX_NAME_CHARS + 1), "sip:a@b.c", ""),
            ContactField::Name,
        ),
        (input("A", "  ", ""), ContactField::Address),
        (input("A", "just words", ""), ContactField::Address),
        (input("A", "sip:", ""), ContactField::Address),
        (input("A", "12ab34", ""), ContactField::Address),
        (
            input("A", &"1".repeat(MAX_ADDRESS_CHARS + 1), ""),
            ContactField::Address,
        ),
        (
            input("A", "100", &"é".repeat(MAX_NOTE_CHARS + 1)),
            ContactField::Note,
        ),
    ];
    for (case, want) in cases {
        match book.save(case.clone()) {
            Err(ContactsError::Invalid { field, reason }) => {
                assert_eq!(field, want, "{case:?}");
                assert!(!reason.is_empty());
            }
            other => panic!("{case:?} gave {other:?}"),
        }
    }
    assert!(book.list().is_empty());
    assert!(!path.exists());
    // The limits count characters, not bytes: a 200-letter Russian name is fine.
    book.save(input(&"Ж".repeat(MAX_NAME_CHARS), "100", ""))
        .unwrap();
}

#[test]
fn accepted_addresses() {
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    for address in [
        "sip:bob@example.com",
        "SIPS:bob@example.com:5061",
        "bob@example.com",
        "sip:+4420794@pbx.example.com;user=phone",
        "+1 (555) 010-9999",
        "*97",
        "100",
    ] {
        book.save(input("X", address, ""))
            .unwrap_or_else(|e| panic!("{address}: {e}"));
    }
}

#[test]
fn utf8_names_and_notes_round_trip_and_search_ignores_case() {
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    let ivan = book
        .save(input("Иван Петров", "sip:ivan@example.ru", "Бухгалтерия"))
        .unwrap();
    let wang = book
        .save(input("王小明", "sip:wang@example.cn", "销售部 🙂"))
        .unwrap();
    let bob = book
        .save(input("Bob", "+44 20 7946 0958", "Plumber"))
        .unwrap();

    let reopened = ContactStore::open(&path).unwrap();
    assert_eq!(reopened.get(&ivan.id), Some(&ivan));
    assert_eq!(reopened.get(&wang.id), Some(&wang), "byte-exact");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("王小明"), "UTF-8 in the file, not escapes");

    assert_eq!(
        book.search("иван"),
        vec![ivan.clone()],
        "Cyrillic lower case"
    );
    assert_eq!(
        book.search("БУХГАЛТЕРИЯ"),
        vec![ivan.clone()],
        "notes are searched"
    );
    assert_eq!(book.search("小明"), vec![wang.clone()]);
    assert_eq!(
        book.search("example.cn"),
        vec![wang.clone()],
        "addresses are searched"
    );
    assert_eq!(book.search("PLUMB"), vec![bob.clone()]);
    assert_eq!(
        book.search("4420 7946"),
        vec![bob.clone()],
        "digits ignore spacing"
    );
    assert_eq!(book.search("79460958"), vec![bob.clone()]);
    assert_eq!(
        book.search("иван ru"),
        vec![ivan.clone()],
        "every word must match"
    );
    assert!(book.search("иван cn").is_empty());
    assert!(book.search("nobody").is_empty());
    assert_eq!(book.search("  ").len(), 3, "an empty query lists all");
}

#[test]
fn find_by_address_matches_a_uri_as_it_arrives_on_the_wire() {
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    let bob = book.save(input("Bob", "bob@Example.com", "")).unwrap();
    let num = book.save(input("Desk", "+44 20 7946 0958", "")).unwrap();
    assert_eq!(
        book.find_by_address("\"Bobby\" <sip:bob@example.COM;transport=tcp>"),
        Some(&bob)
    );
    assert_eq!(book.find_by_address("sips:bob@example.com"), Some(&bob));
    assert_eq!(
        book.find_by_address("sip:+442079460958@pbx.example.com;user=phone"),
        Some(&num)
    );
    assert_eq!(book.find_by_address("sip:bob@example.org"), None);
    assert_eq!(book.find_by_address(""), None);
}

#[test]
fn a_failed_write_keeps_the_old_file_and_the_old_book() {
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    let bob = book.save(input("Bob", "sip:bob@example.com", "")).unwrap();
    let before = fs::read(&path).unwrap();

    // The crash at the worst moment: the new data is written into the temporary file, which
    // then cannot be flushed or renamed.
    let mut next = book.contacts.clone();
    next.push(Contact {
        id: "feedfeedfeedfeed".into(),
        name: "Carol".into(),
        address: "sip:carol@example.com".into(),
        note: String::new(),
    });
    let err = book
        .commit_with(next, |_| Err(io::Error::other("disk pulled out")))
        .unwrap_err();
    assert!(matches!(err, ContactsError::Write { .. }), "{err:?}");
    assert_eq!(fs::read(&path).unwrap(), before, "old file untouched");
    assert_eq!(book.list(), vec![bob.clone()], "old book in memory");
    let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from(CONTACTS_FILE_NAME)],
        "no temp file"
    );
    assert_eq!(ContactStore::open(&path).unwrap().list(), vec![bob]);
}

#[test]
fn a_write_to_an_unwritable_place_is_an_error_not_a_loss() {
    let dir = tempfile::tempdir().unwrap();
    // The "folder" of the book is a file: nothing can be written there.
    let blocker = dir.path().join("data");
    fs::write(&blocker, b"").unwrap();
    // (Opening it is already a read error; a book opened before the folder vanished.)
    let mut book = ContactStore {
        path: blocker.join(CONTACTS_FILE_NAME),
        contacts: Vec::new(),
    };
    assert!(matches!(
        book.save(input("Bob", "sip:bob@example.com", "")),
        Err(ContactsError::Write { .. })
    ));
    assert!(book.list().is_empty());
}

#[test]
fn a_damaged_file_is_refused_and_left_as_it_is() {
    let (_dir, path) = fixture();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    for (bytes, why) in [
        (
            &b"{\"version\":1,\"contacts\":[{\"id\":\"a\",\"na"[..],
            "line",
        ),
        (&b"\xff\xfe not json"[..], "line"),
        (&b"{\"version\":2,\"contacts\":[]}"[..], "version 2"),
        (&b"[]"[..], "line"),
    ] {
        fs::write(&path, bytes).unwrap();
        match ContactStore::open(&path) {
            Err(ContactsError::Unreadable { reason, .. }) => {
                assert!(reason.contains(why), "{reason}")
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
        }
        assert_eq!(fs::read(&path).unwrap(), bytes, "never overwritten");
    }
}

#[test]
fn a_folder_in_place_of_the_file_is_a_read_error() {
    let (_dir, path) = fixture();
    fs::create_dir_all(&path).unwrap();
    assert!(matches!(
        ContactStore::open(&path),
        Err(ContactsError::Read { .. })
    ));
}

#[cfg(unix)]
#[test]
fn the_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    book.save(input("Bob", "sip:bob@example.com", "")).unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_full_book_refuses_a_new_contact_but_still_edits() {
    let (_dir, path) = fixture();
    let mut book = ContactStore::open(&path).unwrap();
    let many: Vec<Contact> = (0..MAX_CONTACTS)
        .map(|i| Contact {
            id: format!("{i:016x}"),
            name: format!("C{i}"),
            address: format!("{}", 1000 + i),
            note: String::new(),
        })
        .collect();
    book.commit(many).unwrap();
    assert!(matches!(
        book.save(input("One more", "sip:x@example.com", "")),
        Err(ContactsError::Full)
    ));
    let mut edit = input("Renamed", "1000", "");
    edit.id = Some(format!("{:016x}", 0));
    book.save(edit).unwrap();
    assert_eq!(
        ContactStore::open(&path).unwrap().list().len(),
        MAX_CONTACTS
    );
}
