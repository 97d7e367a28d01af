//! The one error type of a refused request field, shared by every check in core.

/// A request value that cannot be accepted: where (`events[3].name`, `visitor_id`, `body`) and
/// why (a sentence for the operator). Displayed as the message alone; the field is for placing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }

    /// The same error one level down: `prefix.field`.
    pub fn within(self, prefix: &str) -> Self {
        FieldError { field: format!("{prefix}.{}", self.field), message: self.message }
    }
}
