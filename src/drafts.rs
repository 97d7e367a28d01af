//! Composer drafts, kept per conversation (and per lead and channel on the card) in
//! `localStorage`, so a reload or a closed tab loses nothing the operator typed.

use leadcard_core::inbox::Channel;

use crate::browser::storage;

/// What the operator typed and has not sent yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    pub body: String,
    /// Email only.
    pub subject: String,
}

impl Draft {
    pub fn is_empty(&self) -> bool {
        self.body.is_empty() && self.subject.is_empty()
    }
}

/// The draft of the Inbox composer of conversation `id`.
pub fn conversation_key(id: i64) -> String {
    format!("leadcard.draft.c{id}")
}

/// The draft of the card's composer of lead `lead` for `channel`.
pub fn lead_key(lead: i64, channel: Channel) -> String {
    format!("leadcard.draft.l{lead}.{}", channel.as_str())
}

fn subject_key(key: &str) -> String {
    format!("{key}.subject")
}

pub fn load(key: &str) -> Draft {
    Draft { body: storage::get(key).unwrap_or_default(), subject: storage::get(&subject_key(key)).unwrap_or_default() }
}

/// Keeps `draft` under `key`; an empty one is removed.
pub fn save(key: &str, draft: &Draft) {
    for (key, value) in [(key.to_owned(), &draft.body), (subject_key(key), &draft.subject)] {
        if value.is_empty() {
            storage::remove(&key);
        } else {
            storage::set(&key, value);
        }
    }
}

pub fn clear(key: &str) {
    save(key, &Draft::default());
}

/// A message that could not be sent comes back into the draft, before what was typed since.
pub fn give_back(key: &str, returned: &Draft) {
    let current = load(key);
    let body = match (returned.body.is_empty(), current.body.is_empty()) {
        (_, true) => returned.body.clone(),
        (true, false) => current.body,
        (false, false) if current.body == returned.body => current.body,
        (false, false) => format!("{}\n\n{}", returned.body, current.body),
    };
    let subject = if current.subject.is_empty() { returned.subject.clone() } else { current.subject };
    save(key, &Draft { body, subject });
}
