//! The one error type of a refused request field, shared by every check in core.

use crate::locale::Message;

/// A request value that cannot be accepted: where (`events[3].name`, `visitor_id`, `body`) and
/// why (a sentence for the operator, put into their language where it is shown). Displayed as the message alone; the field is for placing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: String,
    pub message: Message,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<Message>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }

    /// The same error one level down: `prefix.field`.
    pub fn within(self, prefix: &str) -> Self {
        FieldError { field: format!("{prefix}.{}", self.field), message: self.message }
    }
}
