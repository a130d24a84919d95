//! Insert ids a validator has seen, for `duplicate_insert_id`: with the
//! request that carried each and whether it was accepted. SDKs send UUIDs:
//! those are kept as 128-bit numbers, which saves an allocation and a
//! string compare per event. A live session keeps the last `window` only.

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;

#[derive(Default)]
pub(super) struct InsertIds {
    /// A UUID as two halves (8-byte aligned: 24 bytes an entry, not 32).
    uuids: HashMap<[u64; 2], Seen>,
    others: HashMap<String, Seen>,
    /// With a window: the ids in the order they came, the oldest leaving first.
    window: Option<(usize, VecDeque<Key>)>,
}

/// The last request an id came in, and whether any request with it was
/// delivered, in one word (the top bit).
#[derive(Clone, Copy)]
struct Seen(u64);

const DELIVERED: u64 = 1 << 63;

impl Seen {
    fn new(seq: u64, delivered: bool) -> Self {
        Seen((seq & !DELIVERED) | if delivered { DELIVERED } else { 0 })
    }

    fn get(self) -> (u64, bool) {
        (self.0 & !DELIVERED, self.0 & DELIVERED != 0)
    }

    /// Seen again in request `seq`: returns what it was before.
    fn again(&mut self, seq: u64, delivered: bool) -> (u64, bool) {
        let before = self.get();
        *self = Seen::new(seq, before.1 || delivered);
        before
    }
}

enum Key {
    Uuid([u64; 2]),
    Other(Box<str>),
}

impl InsertIds {
    pub(super) fn within(window: usize) -> Self {
        InsertIds {
            window: Some((window.max(1), VecDeque::new())),
            ..InsertIds::default()
        }
    }

    /// Notes `id` as sent in request `seq`. `None` when it is new; else
    /// the request it came in last and whether any request with it was
    /// delivered — and from now on it counts as last sent in `seq`.
    pub(super) fn note(&mut self, id: &str, seq: u64, delivered: bool) -> Option<(u64, bool)> {
        use std::collections::hash_map::Entry;
        let key = match parse_uuid(id) {
            Some(n) => match self.uuids.entry(n) {
                Entry::Occupied(mut seen) => return Some(seen.get_mut().again(seq, delivered)),
                Entry::Vacant(slot) => {
                    slot.insert(Seen::new(seq, delivered));
                    Key::Uuid(n)
                }
            },
            None => {
                if let Some(seen) = self.others.get_mut(id) {
                    return Some(seen.again(seq, delivered));
                }
                self.others.insert(id.to_owned(), Seen::new(seq, delivered));
                Key::Other(id.into())
            }
        };
        if let Some((window, order)) = &mut self.window {
            order.push_back(key);
            if order.len() > *window {
                match order.pop_front() {
                    Some(Key::Uuid(n)) => {
                        self.uuids.remove(&n);
                    }
                    Some(Key::Other(id)) => {
                        self.others.remove(&*id);
                    }
                    None => {}
                }
            }
        }
        None
    }

    pub(super) fn clear(&mut self) {
        self.uuids.clear();
        self.others.clear();
        if let Some((_, order)) = &mut self.window {
            order.clear();
        }
    }
}

/// `8-4-4-4-12` hex digits → a number; anything else → `None`. Only the
/// lower-case form is taken, so two spellings never collide.
fn parse_uuid(id: &str) -> Option<[u64; 2]> {
    let b = id.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut n: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        n = (n << 4) | u128::from(digit);
    }
    Some([(n >> 64) as u64, n as u64])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_the_newest_ids() {
        let mut ids = InsertIds::within(2);
        let uuid = |n: u8| format!("00000000-0000-0000-0000-0000000000{n:02x}");
        assert!(ids.note(&uuid(1), 1, true).is_none());
        assert!(ids.note("plain-id", 2, true).is_none());
        assert_eq!(
            ids.note(&uuid(1), 3, true),
            Some((1, true)),
            "a repeat is found"
        );
        assert!(ids.note(&uuid(3), 4, true).is_none());
        assert!(ids.note(&uuid(1), 5, true).is_none(), "left the window");
        assert_eq!(ids.uuids.len() + ids.others.len(), 2);
    }

    #[test]
    fn a_repeat_answers_the_last_request_and_whether_any_was_delivered() {
        let mut ids = InsertIds::default();
        let id = "8f0e9f5a-1b2c-4d3e-8f4a-5b6c7d8e9f00";
        assert_eq!(ids.note(id, 7, true), None);
        assert_eq!(ids.note(id, 9, false), Some((7, true)));
        assert_eq!(ids.note(id, 12, false), Some((9, true)), "delivered stays");
        assert_eq!(ids.note("Upper-Or-Other", 3, false), None);
        assert_eq!(ids.note("Upper-Or-Other", 4, false), Some((3, false)));
        assert_eq!(
            ids.note(&id.to_uppercase(), 13, false),
            None,
            "another spelling is another id"
        );
    }
}
