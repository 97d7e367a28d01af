//! Tags and notes: what a tag or a note may be.

/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 5000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("cannot be empty")]
    Empty,
    #[error("can have at most {0} characters")]
    TooLong(usize),
    #[error("cannot contain line breaks or control characters")]
    ControlChar,
}

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
