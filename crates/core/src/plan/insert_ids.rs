//! Insert ids a validator has seen, for `duplicate_insert_id`: with the
//! request that carried each and whether it was accepted. SDKs send UUIDs:
//! those are kept as 128-bit numbers, which saves an allocation and a
//! string compare per event. A live session keeps the last `window` only.

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;

#[derive(Default)]
pub(super) struct InsertIds {
    uuids: HashMap<u128, (u64, bool)>,
    others: HashMap<String, (u64, bool)>,
    /// With a window: the ids in the order they came, the oldest leaving first.
    window: Option<(usize, VecDeque<Key>)>,
}

enum Key {
    Uuid(u128),
    Other(Box<str>),
}

impl InsertIds {
    pub(super) fn within(window: usize) -> Self {
        InsertIds {
            window: Some((window.max(1), VecDeque::new())),
            ..InsertIds::default()
        }
    }

    /// Records `id` if new (`None`); else returns its previous record to update.
    pub(super) fn first_or_previous(
        &mut self,
        id: &str,
        record: (u64, bool),
    ) -> Option<&mut (u64, bool)> {
        let key = match parse_uuid(id) {
            Some(n) if self.uuids.contains_key(&n) => return self.uuids.get_mut(&n),
            Some(n) => {
                self.uuids.insert(n, record);
                Key::Uuid(n)
            }
            None if self.others.contains_key(id) => return self.others.get_mut(id),
            None => {
                self.others.insert(id.to_owned(), record);
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
fn parse_uuid(id: &str) -> Option<u128> {
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
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_the_newest_ids() {
        let mut ids = InsertIds::within(2);
        let uuid = |n: u8| format!("00000000-0000-0000-0000-0000000000{n:02x}");
        assert!(ids.first_or_previous(&uuid(1), (1, true)).is_none());
        assert!(ids.first_or_previous("plain-id", (2, true)).is_none());
        assert!(
            ids.first_or_previous(&uuid(1), (3, true)).is_some(),
            "a repeat is found"
        );
        assert!(ids.first_or_previous(&uuid(3), (4, true)).is_none());
        assert!(
            ids.first_or_previous(&uuid(1), (5, true)).is_none(),
            "left the window"
        );
        assert_eq!(ids.uuids.len() + ids.others.len(), 2);
    }
}
