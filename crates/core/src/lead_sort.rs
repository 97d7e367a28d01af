//! The Leads Database's orders: by last seen, created, name or email, either way. The query form
//! (`sort=-last_seen`: a leading `-` is descending) is what the page keeps in its URL and the API
//! reads; newest created first is the default and is left out of URLs.

use crate::locale::{Text, k};

/// What the list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// When the lead was last seen on the site; never seen counts as the oldest.
    LastSeen,
    /// The order leads were added to this database.
    Created,
    /// The name, ASCII letters without case, other characters by code point; no name first.
    Name,
    /// The normalised address, by code point; no address first.
    Email,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [SortKey::LastSeen, SortKey::Created, SortKey::Name, SortKey::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::LastSeen => "last_seen",
            SortKey::Created => "created",
            SortKey::Name => "name",
            SortKey::Email => "email",
        }
    }

    pub fn text(self) -> Text {
        match self {
            SortKey::LastSeen => k::CORE_SORT_KEY_LAST_SEEN,
            SortKey::Created => k::CORE_SORT_KEY_CREATED,
            SortKey::Name => k::CORE_SORT_KEY_NAME,
            SortKey::Email => k::CORE_SORT_KEY_EMAIL,
        }
    }

    pub fn label(self) -> &'static str {
        self.text().en
    }

    /// The way a first click sorts: times newest first, text A to Z.
    pub fn first_descending(self) -> bool {
        matches!(self, SortKey::LastSeen | SortKey::Created)
    }
}

/// An order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeadSort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for LeadSort {
    /// Newest first, the list's order before it could be sorted.
    fn default() -> Self {
        LeadSort { key: SortKey::Created, descending: true }
    }
}

impl LeadSort {
    /// `last_seen`, `-last_seen`, `created`, ..., or None for anything else. Blank is the default.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Some(LeadSort::default());
        }
        let (descending, name) = match raw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, raw),
        };
        SortKey::ALL.into_iter().find(|k| k.as_str() == name).map(|key| LeadSort { key, descending })
    }

    /// The query form; empty for the default.
    pub fn as_query(self) -> String {
        if self == LeadSort::default() {
            String::new()
        } else if self.descending {
            format!("-{}", self.key.as_str())
        } else {
            self.key.as_str().to_owned()
        }
    }

    /// What a click on `key`'s column header asks for: the other way round when the list is
    /// already sorted by it, its first way otherwise.
    pub fn toggled(self, key: SortKey) -> Self {
        if self.key == key {
            LeadSort { key, descending: !self.descending }
        } else {
            LeadSort { key, descending: key.first_descending() }
        }
    }

    /// The accepted values, for messages.
    pub const VALUES: &'static str = "last_seen, created, name or email, with a leading - for descending";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_reads_back_from_its_query_form() {
        for key in SortKey::ALL {
            for descending in [false, true] {
                let sort = LeadSort { key, descending };
                assert_eq!(LeadSort::parse(&sort.as_query()), Some(sort));
            }
        }
        assert_eq!(LeadSort::default().as_query(), "");
        assert_eq!(LeadSort::parse(" "), Some(LeadSort::default()));
        assert_eq!(LeadSort::parse("-created"), Some(LeadSort::default()));
        assert_eq!(LeadSort::parse("colour"), None);
        assert_eq!(LeadSort::parse("--name"), None);
    }

    #[test]
    fn a_header_click_turns_the_order_round_or_starts_its_own() {
        let by_name = LeadSort::default().toggled(SortKey::Name);
        assert_eq!(by_name, LeadSort { key: SortKey::Name, descending: false });
        assert_eq!(by_name.toggled(SortKey::Name), LeadSort { key: SortKey::Name, descending: true });
        assert_eq!(by_name.toggled(SortKey::LastSeen), LeadSort { key: SortKey::LastSeen, descending: true });
    }
}
