//! Tags and notes: what a tag or a note may be.

use std::fmt;

use crate::locale::{Message, k};

/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 5000;

/// Why a tag or a note is refused. [`TextError::message`] is a fragment ("cannot be empty");
/// [`TextError::tag_message`] and [`TextError::note_message`] are the whole sentences the operator
/// reads ("A tag cannot be empty."). `Display` is the fragment's English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    Empty,
    /// Longer than this many characters.
    TooLong(usize),
    ControlChar,
}

impl TextError {
    /// Why, as a fragment ("cannot be empty"; its Russian reads after «тег»).
    pub fn message(&self) -> Message {
        match self {
            TextError::Empty => k::CHECK_TAG_EMPTY.into(),
            TextError::TooLong(max) => Message::new(k::CHECK_TAG_TOO_LONG).arg("max", max),
            TextError::ControlChar => k::CHECK_TAG_CONTROL_CHAR.into(),
        }
    }

    /// "a tag cannot be empty": the reason as a filter or an import row names it.
    pub fn about_a_tag(&self) -> Message {
        Message::new(k::CHECK_TAG_A_TAG).with("reason", self.message())
    }

    /// "A tag cannot be empty.": the sentence for a refused tag.
    pub fn tag_message(&self) -> Message {
        Message::new(k::CHECK_TAG_TAG_SENTENCE).with("reason", self.message())
    }

    /// "A note cannot be empty.": the sentence for a refused note.
    pub fn note_message(&self) -> Message {
        match self {
            TextError::Empty => k::CHECK_TAG_NOTE_EMPTY.into(),
            other => Message::new(k::CHECK_TAG_NOTE_SENTENCE).with("reason", other.message()),
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message())
    }
}

impl std::error::Error for TextError {}

/// A tag as stored: trimmed, one line, 1 to 64 characters; case is kept as typed.
pub fn parse_tag(raw: &str) -> Result<String, TextError> {
    let tag = raw.trim();
    if tag.is_empty() {
        return Err(TextError::Empty);
    }
    if tag.chars().count() > MAX_TAG_CHARS {
        return Err(TextError::TooLong(MAX_TAG_CHARS));
    }
    if tag.chars().any(char::is_control) {
        return Err(TextError::ControlChar);
    }
    Ok(tag.to_owned())
}

/// A note as stored: multi-line text, trimmed, 1 to 5,000 characters.
pub fn parse_note(raw: &str) -> Result<String, TextError> {
    let note = raw.trim();
    if note.is_empty() {
        return Err(TextError::Empty);
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(TextError::TooLong(MAX_NOTE_CHARS));
    }
    if note.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(TextError::ControlChar);
    }
    Ok(note.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_one_trimmed_line_of_up_to_64_characters() {
        assert_eq!(parse_tag("  VIP "), Ok("VIP".into()));
        assert_eq!(parse_tag(" "), Err(TextError::Empty));
        assert_eq!(parse_tag(&"x".repeat(65)), Err(TextError::TooLong(64)));
        assert_eq!(parse_tag("a\nb"), Err(TextError::ControlChar));
    }

    #[test]
    fn notes_keep_their_lines() {
        assert_eq!(parse_note(" first\nsecond \n"), Ok("first\nsecond".into()));
        assert_eq!(parse_note("\n\n"), Err(TextError::Empty));
        assert_eq!(parse_note(&"x".repeat(5001)), Err(TextError::TooLong(5000)));
    }
}
