//! Leads out as CSV: the columns an export may have, how each lead's value is written in a cell,
//! and the one rule that keeps a cell from running as a formula when the file is opened in a
//! spreadsheet (OWASP "CSV injection").

use crate::field::FieldError;
use crate::locale::{Message, k};
use crate::property::{PropertyError, PropertyName, PropertyValue};

/// The lead's id in this database.
pub const ID_COLUMN: &str = "id";
/// When the lead was added (RFC 3339, UTC).
pub const CREATED_COLUMN: &str = "created_at";
/// The lead's tags, `; ` between them.
pub const TAGS_COLUMN: &str = "tags";
/// The address's subscription status (`subscribed`, `unsubscribed`, `bounced`, ...).
pub const STATUS_COLUMN: &str = "subscription_status";

/// Between the tags in the tags cell (a tag never holds a line break, and `;` is rare in one).
pub const TAG_SEPARATOR: &str = "; ";

/// Most columns in one export.
pub const MAX_COLUMNS: usize = 100;

/// The columns an export has when the operator picks none.
pub const DEFAULT_COLUMNS: [&str; 8] =
    [ID_COLUMN, "$name", "$email", "$phone", "$user_id", TAGS_COLUMN, STATUS_COLUMN, CREATED_COLUMN];

/// One column of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportColumn {
    Id,
    Created,
    Tags,
    Status,
    Property(PropertyName),
}

impl ExportColumn {
    /// A column by its header name; any other name is a property's (system or custom).
    pub fn parse(raw: &str) -> Result<ExportColumn, PropertyError> {
        Ok(match raw.trim() {
            ID_COLUMN => ExportColumn::Id,
            CREATED_COLUMN => ExportColumn::Created,
            TAGS_COLUMN => ExportColumn::Tags,
            STATUS_COLUMN => ExportColumn::Status,
            name => ExportColumn::Property(PropertyName::parse(name)?),
        })
    }

    /// The header cell: the name the column is parsed from, so a file reads back column by column.
    pub fn header(&self) -> &str {
        match self {
            ExportColumn::Id => ID_COLUMN,
            ExportColumn::Created => CREATED_COLUMN,
            ExportColumn::Tags => TAGS_COLUMN,
            ExportColumn::Status => STATUS_COLUMN,
            ExportColumn::Property(name) => name.as_str(),
        }
    }
}

/// The columns asked for (`columns=$name,$email,plan`, comma-separated; a property name holding a
/// comma cannot be asked for this way), or the default ones when none are; a column named twice
/// is kept once.
pub fn parse_columns(raw: Option<&str>) -> Result<Vec<ExportColumn>, FieldError> {
    let names: Vec<&str> = match raw.map(str::trim).filter(|r| !r.is_empty()) {
        Some(raw) => raw.split(',').map(str::trim).filter(|n| !n.is_empty()).collect(),
        None => DEFAULT_COLUMNS.to_vec(),
    };
    if names.len() > MAX_COLUMNS {
        return Err(FieldError::new("columns", Message::new(k::CHECK_EXPORT_TOO_MANY_COLUMNS).arg("max", MAX_COLUMNS)));
    }
    let mut columns: Vec<ExportColumn> = Vec::with_capacity(names.len());
    for name in names {
        let column = ExportColumn::parse(name).map_err(|e| {
            FieldError::new(
                "columns",
                Message::new(k::CHECK_EXPORT_COLUMN).arg("name", format!("{name:?}")).with("reason", e.message()),
            )
        })?;
        if !columns.contains(&column) {
            columns.push(column);
        }
    }
    Ok(columns)
}

/// A property value as a cell: text as it is, numbers without a needless `.0`, dates in RFC 3339
/// (UTC), true/false, list items `; ` apart.
pub fn property_cell(value: &PropertyValue) -> String {
    match value {
        PropertyValue::List(items) => items.join(TAG_SEPARATOR),
        other => other.display(),
    }
}

/// Whether a spreadsheet would read the cell as a formula (or DDE) were it left as it is.
pub fn is_formula_like(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The cell as exported: one that begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
/// leading `'`, which spreadsheets show as text and never evaluate (OWASP's advice). The CSV
/// writer then quotes what needs quoting.
pub fn neutralise(cell: String) -> String {
    if is_formula_like(&cell) { format!("'{cell}") } else { cell }
}

/// The value a neutralised cell stood for: the leading `'` [`neutralise`] added is taken off again
/// when an export is imported, and only then.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if is_formula_like(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_get_a_quote_and_read_back() {
        for cell in ["=1+1", "+49 30 1", "-5", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"] {
            let safe = neutralise(cell.to_owned());
            assert!(safe.starts_with('\''), "{cell:?}");
            assert!(!is_formula_like(&safe));
            assert_eq!(restore(&safe), cell);
        }
        for cell in ["Ada", "", "'quoted", "a=b", "1-2"] {
            assert_eq!(neutralise(cell.to_owned()), cell);
            assert_eq!(restore(cell), cell);
        }
    }

    #[test]
    fn columns_are_parsed_by_name_and_refused_by_name() {
        assert_eq!(parse_columns(None).unwrap().len(), DEFAULT_COLUMNS.len());
        let columns = parse_columns(Some("$email, plan,id,$email")).unwrap();
        assert_eq!(columns.iter().map(ExportColumn::header).collect::<Vec<_>>(), ["$email", "plan", "id"]);
        let err = parse_columns(Some("$email,$plan")).unwrap_err();
        assert_eq!(err.field, "columns");
        assert!(err.message.to_string().contains("$plan"));
        let many = vec!["a"; MAX_COLUMNS + 1].join(",");
        assert!(parse_columns(Some(&many)).is_err());
    }

    #[test]
    fn values_are_written_as_the_card_shows_them() {
        assert_eq!(property_cell(&PropertyValue::Number(12.0)), "12");
        assert_eq!(property_cell(&PropertyValue::List(vec!["a".into(), "b".into()])), "a; b");
        assert_eq!(property_cell(&PropertyValue::Bool(true)), "true");
    }
}
