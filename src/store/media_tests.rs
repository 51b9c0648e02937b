//! Tests of the media objects' store.
use super::*;

fn store() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = super::super::open_for_writing(&dir.path().join("s.db")).unwrap();
    (dir, conn)
}

fn r(url: &str) -> MediaRef<'_> {
    MediaRef {
        elem: MediaElem::Image,
        url,
        size_hint: Some(10),
    }
}

#[test]
fn a_url_is_one_object_however_many_messages_use_it() {
    let (_d, conn) = store();
    let refs = [r("https://a.example/1.png"), r("/relative.png")];
    record_refs(&conn, 1, Kind::C2cMessage, 3, &refs).unwrap();
    record_refs(&conn, 1, Kind::GroupMessage, 9, &refs[..1]).unwrap();
    record_refs(
        &conn,
        1,
        Kind::C2cMessage,
        4,
        &[r("https://b.example/2.png")],
    )
    .unwrap();
    let hosts = hosts(&conn).unwrap();
    assert_eq!(
        hosts.len(),
        2,
        "the relative URL is not an object: {hosts:?}"
    );
    assert_eq!(
        (hosts[0].host.as_str(), hosts[0].objects, hosts[0].refs),
        ("a.example", 1, 2)
    );
    assert_eq!(hosts[0].bytes_pending_hint, 10);
    let page = pending_page(&conn, "a.example", 0, 10).unwrap();
    assert_eq!(page.len(), 1);
    let copied = Copied {
        key: "k".into(),
        new_url: "https://new/k".into(),
        size: 7,
        sha256: "ab".into(),
    };
    mark_copied(&conn, page[0].id, &copied).unwrap();
    assert!(pending_page(&conn, "a.example", 0, 10).unwrap().is_empty());
    // Nothing decided yet: records read back as exported.
    assert_eq!(reads(&conn).unwrap(), None);
    assert_eq!(decide(&conn, false).unwrap(), 0);
    assert!(reads(&conn).unwrap().is_some(), "a message carries a copy");
    assert_eq!(
        fate_of(&conn, "https://a.example/1.png").unwrap(),
        crate::model::media::MediaFate::Rehosted {
            url: "https://new/k".into(),
            uuid: "ab".into()
        }
    );
    let keep = crate::model::media::MediaFate::Keep;
    assert_eq!(
        fate_of(&conn, "https://b.example/2.png").unwrap(),
        keep,
        "kept host"
    );
    assert_eq!(fate_of(&conn, "https://none/x").unwrap(), keep);
}

#[test]
fn the_policy_decides_once_and_a_signed_url_is_never_kept() {
    use crate::model::media::MediaFate;
    let (_d, conn) = store();
    let (plain, signed) = ("https://a.example/x.png", "https://a.example/y.png?sign=ab");
    let kept_signed = "https://kept.example/z.png?Expires=9";
    record_refs(
        &conn,
        1,
        Kind::C2cMessage,
        3,
        &[r(plain), r(signed), r(kept_signed)],
    )
    .unwrap();
    for object in pending_page(&conn, "a.example", 0, 10).unwrap() {
        mark_failed(&conn, object.id, "HTTP 404 Not Found", false).unwrap();
    }
    assert_eq!(undecided_failures(&conn).unwrap().0, 2);
    assert_eq!(decide(&conn, false).unwrap(), 2, "both signed URLs");
    assert_eq!(fate_of(&conn, plain).unwrap(), MediaFate::Keep);
    assert_eq!(fate_of(&conn, signed).unwrap(), MediaFate::Placeholder);
    assert_eq!(fate_of(&conn, kept_signed).unwrap(), MediaFate::Placeholder);
    // Decided for good: a later policy, retry or skip changes nothing its messages carry.
    assert_eq!(decide(&conn, true).unwrap(), 0);
    assert_eq!(fate_of(&conn, plain).unwrap(), MediaFate::Keep);
    assert_eq!(
        (retry_failed(&conn).unwrap(), skip_failed(&conn).unwrap()),
        (0, 0)
    );
    assert_eq!(decided_failures(&conn).unwrap(), 2);
    assert_eq!(undecided_failures(&conn).unwrap().0, 0);
    // A new URL of a later export is decided by the policy of its own run.
    record_refs(
        &conn,
        2,
        Kind::C2cMessage,
        1,
        &[r("https://a.example/new.png")],
    )
    .unwrap();
    let id = pending_page(&conn, "a.example", 0, 10).unwrap()[0].id;
    mark_failed(&conn, id, "timed out", true).unwrap();
    assert_eq!(decide(&conn, true).unwrap(), 1);
    assert_eq!(
        fate_of(&conn, "https://a.example/new.png").unwrap(),
        MediaFate::Placeholder
    );
}

#[test]
fn a_copy_found_equal_is_not_checked_again() {
    let (_d, conn) = store();
    record_refs(
        &conn,
        1,
        Kind::C2cMessage,
        3,
        &[r("https://a.example/1"), r("https://a.example/2")],
    )
    .unwrap();
    let copied = Copied {
        key: "k".into(),
        new_url: "u".into(),
        size: 1,
        sha256: "s".into(),
    };
    let ids: Vec<i64> = pending_page(&conn, "a.example", 0, 10)
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    for id in &ids {
        mark_copied(&conn, *id, &copied).unwrap();
    }
    mark_verified(&conn, ids[0], true, "").unwrap();
    mark_verified(&conn, ids[1], false, "missing").unwrap();
    let page: Vec<i64> = copied_page(&conn, 0, 10)
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(
        page,
        [ids[1]],
        "the equal one is done; the different one is asked again"
    );
    let v = verified(&conn).unwrap();
    assert_eq!((v.checked, v.equal, v.differences.len()), (2, 1, 1));
}

#[test]
fn failures_are_listed_retried_and_skipped() {
    let (_d, conn) = store();
    record_refs(
        &conn,
        1,
        Kind::C2cMessage,
        3,
        &[r("https://a.example/gone")],
    )
    .unwrap();
    let id = pending_page(&conn, "a.example", 0, 1).unwrap()[0].id;
    mark_failed(&conn, id, "HTTP 404 Not Found", false).unwrap();
    let f = failures(&conn).unwrap();
    assert_eq!(
        (f[0].reason.as_str(), f[0].line, f[0].state),
        ("HTTP 404 Not Found", 3, MediaState::Failed)
    );
    assert_eq!(retry_failed(&conn).unwrap(), 1);
    assert_eq!(pending_page(&conn, "a.example", 0, 1).unwrap().len(), 1);
    mark_failed(&conn, id, "timeout", true).unwrap();
    assert_eq!(skip_failed(&conn).unwrap(), 1);
    assert_eq!(failures(&conn).unwrap()[0].state, MediaState::Skipped);
    assert_eq!(policy(&conn).unwrap(), None);
    set_policy(&conn, "placeholder").unwrap();
    set_policy(&conn, "keep_url").unwrap();
    assert_eq!(policy(&conn).unwrap().as_deref(), Some("keep_url"));
}
