//! Leads in from a CSV file: which column goes where (guessed from the header, changed by the
//! operator), each row checked into properties, tags and a subscription status by the card's own
//! rules, and the one rule for statuses: a file may make an address Unsubscribed or Bounced, never
//! Subscribed, and an address already Unsubscribed or hard-bounced stays so.

use serde::{Deserialize, Serialize};

use crate::export::{CREATED_COLUMN, ID_COLUMN, STATUS_COLUMN, TAG_SEPARATOR, TAGS_COLUMN, restore};
use crate::field::FieldError;
use crate::filter::{parse_date, parse_number};
use crate::intake::IDENTIFYING_PROPERTIES;
use crate::locale::{Message, Text, k};
use crate::operation::Operation;
use crate::property::{PropertyName, PropertyType, PropertyValue};
use crate::subscription::{BounceKind, SubscriptionStatus};
use crate::tag::parse_tag;

/// Where one column of the file goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Target {
    /// Left out.
    Skip,
    /// A property (system or custom), its cells read as `ty`.
    Property { name: String, ty: PropertyType },
    /// Tags, `;`-separated.
    Tags,
    /// The address's subscription status.
    Status,
}

impl Target {
    /// `skip`, `tags`, `status`, or a property name with an optional `:type` (`plan:text`,
    /// `Seats:number`); a system property takes its own type.
    pub fn parse(raw: &str) -> Result<Target, Message> {
        let raw = raw.trim();
        match raw {
            "skip" | "" => return Ok(Target::Skip),
            "tags" => return Ok(Target::Tags),
            "status" | STATUS_COLUMN => return Ok(Target::Status),
            _ => {}
        }
        let (name, ty) = match raw.rsplit_once(':') {
            Some((name, ty)) if PropertyType::parse(ty.trim()).is_some() => (name, PropertyType::parse(ty.trim())),
            _ => (raw, None),
        };
        let name = PropertyName::parse(name).map_err(|e| e.message())?;
        if !name.editable_by_operator() {
            return Err(Message::new(k::CHECK_IMPORT_TRACKING_ONLY).arg("name", name.as_str()));
        }
        let ty = match (name.system(), ty) {
            (Some(system), Some(ty)) if system.ty != ty => {
                return Err(Message::new(k::CHECK_IMPORT_HOLDS_TYPE)
                    .arg("name", name.as_str())
                    .with("type", system.ty.text()));
            }
            (Some(system), _) => system.ty,
            (None, ty) => ty.unwrap_or(PropertyType::Text),
        };
        Ok(Target::Property { name: name.as_str().to_owned(), ty })
    }

    /// The target a header names, as a guess: an export's own names; `email`, `E-mail`, `Name`,
    /// `Phone`, `User ID` and the like as their system property; `id` and `created_at` left out;
    /// anything else a custom text property of that name.
    pub fn guess(header: &str) -> Target {
        let folded: String =
            header.trim().chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
        let system = |name: &str| Target::Property { name: name.to_owned(), ty: PropertyType::Text };
        match header.trim() {
            ID_COLUMN | CREATED_COLUMN => return Target::Skip,
            TAGS_COLUMN => return Target::Tags,
            STATUS_COLUMN => return Target::Status,
            _ => {}
        }
        match folded.as_str() {
            "email" | "emailaddress" | "mail" => return system("$email"),
            "name" | "fullname" => return system("$name"),
            "phone" | "phonenumber" | "mobile" | "telephone" => return system("$phone"),
            "userid" | "externalid" => return system("$user_id"),
            "city" => return system("$city"),
            "country" => return system("$country"),
            "tags" | "labels" => return Target::Tags,
            "status" | "subscription" | "subscriptionstatus" => return Target::Status,
            _ => {}
        }
        match Target::parse(header) {
            Ok(target) => target,
            Err(_) => Target::Skip,
        }
    }
}

/// The targets of a file's columns, in order.
pub type Mapping = Vec<Target>;

/// Checks a mapping the operator chose for a file with this header: one target per column, each
/// property a name the card could set with its own type, no property twice, and something to
/// know a lead by. The error names `mapping` or `mapping[i]`.
pub fn check_mapping(header: &[&str], mapping: &[Target]) -> Result<(), FieldError> {
    if mapping.len() != header.len() {
        return Err(FieldError::new(
            "mapping",
            Message::new(k::CHECK_IMPORT_COLUMN_COUNT).arg("columns", header.len()).arg("given", mapping.len()),
        ));
    }
    for (i, target) in mapping.iter().enumerate() {
        let field = || format!("mapping[{i}]");
        let column = header[i];
        if let Target::Property { name, ty } = target {
            let checked = Target::parse(&format!("{}:{}", name.trim(), ty.as_str())).map_err(|e| {
                FieldError::new(field(), Message::new(k::CHECK_IMPORT_COLUMN).arg("column", column).with("reason", e))
            })?;
            if &checked != target {
                return Err(FieldError::new(field(), Message::new(k::CHECK_IMPORT_NAME_AS_IS).arg("column", column)));
            }
            if let Some(first) =
                mapping[..i].iter().position(|t| matches!(t, Target::Property { name: n, .. } if n == name))
            {
                return Err(FieldError::new(
                    field(),
                    Message::new(k::CHECK_IMPORT_ALREADY_IMPORTED)
                        .arg("column", column)
                        .arg("name", name)
                        .arg("first", header[first]),
                ));
            }
        }
        if matches!(target, Target::Tags | Target::Status) && mapping[..i].contains(target) {
            return Err(FieldError::new(field(), Message::new(k::CHECK_IMPORT_ONLY_ONE_COLUMN).arg("column", column)));
        }
    }
    let identifies = mapping
        .iter()
        .any(|t| matches!(t, Target::Property { name, .. } if IDENTIFYING_PROPERTIES.contains(&name.as_str())));
    if !identifies {
        return Err(FieldError::new("mapping", k::CHECK_IMPORT_NOTHING_TO_KNOW_BY));
    }
    Ok(())
}

/// What to do with a row that matches an existing lead (by user id, then by address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnMatch {
    /// Set the row's properties on it and add its tags.
    Update,
    /// Leave it as it is (the row is reported as skipped).
    Skip,
}

/// `POST /api/v1/imports`: a file uploaded for import, its first rows, and the guessed mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportUpload {
    /// Names the upload in `POST /imports/{id}/run`.
    pub id: String,
    /// The file's name, as sent.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The header row's column names.
    pub header: Vec<String>,
    /// The first rows, as read (at most [`PREVIEW_ROWS`]).
    pub rows: Vec<PreviewRow>,
    /// The guessed target of each column.
    pub mapping: Vec<Target>,
}

/// Rows shown before an import.
pub const PREVIEW_ROWS: usize = 10;

/// One row of a preview: its line in the file and its cells (text that is not UTF-8 shown with
/// replacement characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewRow {
    pub line: u64,
    pub cells: Vec<String>,
}

/// `POST /api/v1/imports/{id}/run`: the mapping chosen, what to do with matches, and whether to
/// only check (a dry run writes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRun {
    pub mapping: Vec<Target>,
    pub on_match: OnMatch,
    #[serde(default)]
    pub dry_run: bool,
}

/// The guessed mapping of a header row.
pub fn guess_mapping(header: &[&str]) -> Mapping {
    let mut mapping: Mapping = header.iter().map(|h| Target::guess(h)).collect();
    // A property mapped twice keeps its first column.
    for i in 1..mapping.len() {
        if let Target::Property { name, .. } = &mapping[i]
            && mapping[..i].iter().any(|t| matches!(t, Target::Property { name: n, .. } if n == name))
        {
            mapping[i] = Target::Skip;
        }
    }
    mapping
}

/// A status a file may set: only ones that stop mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportedStatus {
    Unsubscribed,
    Bounced,
}

impl ImportedStatus {
    pub fn status(self) -> SubscriptionStatus {
        match self {
            ImportedStatus::Unsubscribed => SubscriptionStatus::Unsubscribed,
            ImportedStatus::Bounced => SubscriptionStatus::Bounced,
        }
    }

    /// A bounce read from a file is taken as hard: the file cannot say when a soft one cools down.
    pub fn bounce(self) -> Option<BounceKind> {
        matches!(self, ImportedStatus::Bounced).then_some(BounceKind::Hard)
    }
}

/// One row, checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportRow {
    pub properties: Vec<(PropertyName, PropertyValue)>,
    pub tags: Vec<String>,
    /// What the file's status column asks for, when it stops mail (the usual rules decide the rest).
    pub status: Option<ImportedStatus>,
}

impl ImportRow {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(n, _)| n.as_str() == name).and_then(|(_, v)| v.as_text())
    }
}

/// A cell as a value of `ty` (after taking off an export's neutralising quote); None when blank.
fn value(ty: PropertyType, cell: &str) -> Result<Option<PropertyValue>, Text> {
    let cell = restore(cell).trim();
    if cell.is_empty() {
        return Ok(None);
    }
    Ok(Some(match ty {
        PropertyType::Text => PropertyValue::Text(cell.to_owned()),
        PropertyType::Number => PropertyValue::Number(parse_number(cell).ok_or(k::CHECK_IMPORT_NOT_A_NUMBER)?),
        PropertyType::Bool => match cell.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => PropertyValue::Bool(true),
            "false" | "no" | "0" => PropertyValue::Bool(false),
            _ => return Err(k::CHECK_IMPORT_NOT_A_BOOL),
        },
        PropertyType::DateTime => PropertyValue::DateTime(parse_date(cell).ok_or(k::CHECK_IMPORT_NOT_A_DATE)?),
        PropertyType::List => PropertyValue::List(
            cell.split(TAG_SEPARATOR.trim()).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        ),
    }))
}

/// The status a cell asks for: unsubscribed and bounced are kept; subscribed, waiting and invalid
/// are the usual rules' to decide (a file never subscribes anyone); anything else is refused.
fn status(cell: &str) -> Result<Option<ImportedStatus>, Message> {
    let cell = restore(cell).trim().to_ascii_lowercase();
    let cell = cell.split('/').next().unwrap_or_default();
    match cell {
        "" | "subscribed" | "waiting_for_confirmation" | "invalid_email" => Ok(None),
        "unsubscribed" => Ok(Some(ImportedStatus::Unsubscribed)),
        "bounced" => Ok(Some(ImportedStatus::Bounced)),
        other => Err(Message::new(k::CHECK_IMPORT_NOT_A_STATUS).arg("value", other)),
    }
}

/// Checks one record by the mapping: every value by the card's rules (an operator's sets), tags by
/// the tag rule, the status; and that the row has something to know the lead by. The error names
/// the column (its header) and why.
pub fn check_row(header: &[&str], mapping: &[Target], record: &[&str]) -> Result<ImportRow, Message> {
    let mut row = ImportRow::default();
    let mut operations = Vec::new();
    for (i, target) in mapping.iter().enumerate() {
        let cell = record.get(i).copied().unwrap_or_default();
        let column = header.get(i).copied().unwrap_or_default();
        let named =
            |reason: Message| Message::new(k::CHECK_IMPORT_IN_COLUMN).arg("column", column).with("reason", reason);
        match target {
            Target::Skip => {}
            Target::Property { name, ty } => {
                let refused = |e: Text| {
                    named(Message::new(k::CHECK_IMPORT_CELL).arg("value", restore(cell).trim()).with("reason", e))
                };
                if let Some(value) = value(*ty, cell).map_err(refused)? {
                    let name = PropertyName::parse(name).map_err(|e| named(e.message()))?;
                    operations.push(Operation::Set { name, value });
                }
            }
            Target::Tags => {
                for tag in restore(cell).split(TAG_SEPARATOR.trim()).map(str::trim).filter(|t| !t.is_empty()) {
                    let tag = parse_tag(tag).map_err(|e| named(e.about_a_tag()))?;
                    if !row.tags.contains(&tag) {
                        row.tags.push(tag);
                    }
                }
            }
            Target::Status => row.status = status(cell).map_err(named)?,
        }
    }
    crate::operation::check_operator_batch(&operations)
        .map_err(|e| Message::new(k::CHECK_IMPORT_PROPERTY).arg("name", &e.name).with("reason", e.error.message()))?;
    row.properties = operations
        .into_iter()
        .filter_map(|op| match op {
            Operation::Set { name, value } => Some((name, value)),
            _ => None,
        })
        .collect();
    if !row.properties.iter().any(|(n, _)| IDENTIFYING_PROPERTIES.contains(&n.as_str())) {
        return Err(k::CHECK_IMPORT_NOTHING_IN_ROW.into());
    }
    Ok(row)
}

/// A mapping as given on the command line: `COLUMN=TARGET` pairs (`--map Email=$email --map
/// Seats=Seats:number`); columns not named keep their guessed target. Its errors are for the
/// command line, in English.
pub fn apply_map_args(header: &[&str], mut mapping: Mapping, args: &[String]) -> Result<Mapping, String> {
    for arg in args {
        let (column, target) = arg.split_once('=').ok_or_else(|| format!("--map {arg}: write COLUMN=TARGET"))?;
        let at = header
            .iter()
            .position(|h| h.trim() == column.trim())
            .ok_or_else(|| format!("--map {arg}: the file has no column \"{}\"", column.trim()))?;
        mapping[at] = Target::parse(target).map_err(|e| format!("--map {arg}: {e}"))?;
    }
    Ok(mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_guessed_and_an_export_maps_back_to_itself() {
        let header = ["id", "$name", "E-mail", "Phone", "User ID", "tags", "subscription_status", "created_at", "Plan"];
        let mapping = guess_mapping(&header);
        let text = |n: &str| Target::Property { name: n.to_owned(), ty: PropertyType::Text };
        assert_eq!(
            mapping,
            [
                Target::Skip,
                text("$name"),
                text("$email"),
                text("$phone"),
                text("$user_id"),
                Target::Tags,
                Target::Status,
                Target::Skip,
                text("Plan")
            ]
        );
        assert_eq!(
            guess_mapping(&["email", "Email"])[1],
            Target::Skip,
            "a property mapped twice keeps its first column"
        );
    }

    #[test]
    fn rows_are_checked_by_the_cards_rules_and_name_the_column() {
        let header = ["Name", "Seats", "Since", "tags", "status"];
        let mapping = apply_map_args(
            &header,
            guess_mapping(&header),
            &["Seats=Seats:number".into(), "Since=Since:date_time".into()],
        )
        .unwrap();
        let row = check_row(&header, &mapping, &["'=Ada", "12", "2024-05-01", "vip; '=x", "Unsubscribed"]).unwrap();
        assert_eq!(row.text("$name"), Some("=Ada"), "an export's neutralised cell reads back");
        assert_eq!(row.properties[1].1, PropertyValue::Number(12.0));
        assert_eq!(row.tags, ["vip", "'=x"]);
        assert_eq!(row.status, Some(ImportedStatus::Unsubscribed));

        let err = check_row(&header, &mapping, &["A", "twelve", "", "", ""]).unwrap_err().to_string();
        assert!(err.contains("column \"Seats\"") && err.contains("twelve"), "{err}");
        let err = check_row(&header, &mapping, &["A", "", "", "", "resubscribe"]).unwrap_err().to_string();
        assert!(err.contains("column \"status\""), "{err}");
        let named = ["$name", "$email"];
        let mapping = guess_mapping(&named);
        assert!(check_row(&named, &mapping, &["", ""]).unwrap_err().to_string().contains("no name"));
        let row = check_row(&named, &mapping, &["'=cmd", "a@example.com"]).unwrap();
        assert_eq!(row.text("$name"), Some("=cmd"), "an export's neutralised cell reads back");
    }

    #[test]
    fn a_file_never_subscribes_anyone() {
        for cell in ["subscribed", "Subscribed", "waiting_for_confirmation", "invalid_email", ""] {
            assert_eq!(status(cell).unwrap(), None, "{cell}");
        }
        assert_eq!(status("bounced/hard").unwrap(), Some(ImportedStatus::Bounced));
    }

    #[test]
    fn a_chosen_mapping_is_checked_by_column() {
        let header = ["Email", "Plan", "Seats", "tags"];
        let mut mapping = guess_mapping(&header);
        assert_eq!(check_mapping(&header, &mapping), Ok(()));
        assert_eq!(check_mapping(&header, &mapping[..2]).unwrap_err().field, "mapping");
        mapping[2] = Target::Property { name: "Plan".into(), ty: PropertyType::Number };
        let err = check_mapping(&header, &mapping).unwrap_err();
        assert_eq!(err.field, "mapping[2]");
        assert!(err.message.to_string().contains("already imported from column \"Plan\""), "{err:?}");
        mapping[2] = Target::Property { name: "$email".into(), ty: PropertyType::Number };
        assert_eq!(check_mapping(&header, &mapping).unwrap_err().field, "mapping[2]");
        mapping[2] = Target::Property { name: "$last_seen".into(), ty: PropertyType::DateTime };
        assert!(check_mapping(&header, &mapping).unwrap_err().message.to_string().contains("tracking"));
        mapping[2] = Target::Tags;
        assert_eq!(check_mapping(&header, &mapping).unwrap_err().field, "mapping[3]");
        let only_plan = [
            Target::Skip,
            Target::Property { name: "Plan".into(), ty: PropertyType::Text },
            Target::Skip,
            Target::Skip,
        ];
        assert!(check_mapping(&header, &only_plan).unwrap_err().message.to_string().contains("at least one column"));
        let json = serde_json::to_value(guess_mapping(&["Email"])).unwrap();
        assert_eq!(json, serde_json::json!([{"to": "property", "name": "$email", "ty": "text"}]));
    }

    #[test]
    fn map_arguments_are_refused_by_name() {
        let header = ["Email"];
        assert!(
            apply_map_args(&header, guess_mapping(&header), &["Mail=$email".into()]).unwrap_err().contains("no column")
        );
        assert!(
            apply_map_args(&header, guess_mapping(&header), &["Email=$last_seen".into()])
                .unwrap_err()
                .contains("tracking")
        );
        assert!(apply_map_args(&header, guess_mapping(&header), &["Email".into()]).is_err());
    }
}
