//! The refusals core's checks give, one by one, through the functions that give them: each reads
//! in English exactly as it did before it became a text of the catalogue (callers and tests
//! compare the words), and in Russian as a Russian sentence with every placeholder filled.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::account::{check_keeps_an_admin, check_new_password};
use crate::bulk::{BulkAction, BulkSelection};
use crate::email::EmailError;
use crate::event::EventError;
use crate::export::parse_columns;
use crate::field::FieldError;
use crate::filter::{EventOp, Filter, FilterError};
use crate::import::{Target, check_mapping, check_row};
use crate::inbox::{Channel, ChannelRefusal, ConversationFilter, SystemEntry, check_body, check_message};
use crate::intake::{NewLeadBody, NewProperty, check_new_lead};
use crate::locale::{Language, Message};
use crate::location::{check_language, check_zone};
use crate::mail::{BounceReport, EmailSettingsBody, MenuRefusal, NewCampaign};
use crate::merge::MergeLeads;
use crate::operation::{Operation, OperationError, check_operator_batch};
use crate::pin::PinsError;
use crate::property::{PropertyError, PropertyName, PropertyType, PropertyValue, display_name_message};
use crate::segment::{NewSegment, SegmentNameError, check_segment_name, parse_segment_name};
use crate::subscription::{Refusal, TransitionError};
use crate::tag::{TextError, parse_note, parse_tag};
use crate::tracking::{
    AddEvent, TrackedEvent, check_client_id, check_events, check_title, check_url, check_user_id, value_from_json,
};

/// The placeholders (`{name}`) left in a rendered text.
fn unfilled(text: &str) -> Vec<String> {
    let mut left = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(close) = after.find('}') {
            let name = &after[..close];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                left.push(name.to_owned());
            }
        }
        rest = after;
    }
    left
}

fn is_russian(text: &str) -> bool {
    text.chars().any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)) || c == 'ё')
}

/// Each message's English is the old words, and its Russian a filled Russian text.
fn check(cases: Vec<(Message, &str)>) {
    let mut problems = Vec::new();
    for (message, english) in cases {
        let en = message.to_string();
        let ru = message.in_language(Language::Ru);
        if en != english {
            problems.push(format!("English changed: {en:?}, was {english:?}"));
        }
        if message.in_language(Language::En) != en {
            problems.push(format!("English in_language differs from Display: {en:?}"));
        }
        if !is_russian(&ru) || ru == en {
            problems.push(format!("not Russian: {ru:?} (English {en:?})"));
        }
        if !unfilled(&en).is_empty() || !unfilled(&ru).is_empty() {
            problems.push(format!("placeholders left: {en:?} / {ru:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn field(result: Result<impl std::fmt::Debug, FieldError>) -> Message {
    result.unwrap_err().message
}

fn filter(json: &str) -> Message {
    match Filter::from_query(json) {
        Ok(filter) => filter.check().unwrap_err().message,
        Err(FilterError { message, .. }) => message,
    }
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

#[test]
fn email_errors_read_as_before_and_in_russian() {
    use EmailError as E;
    check(vec![
        (E::Empty.message(), "is empty"),
        (E::NonAscii.message(), "contains non-ASCII characters"),
        (E::MissingAt.message(), "is missing the @ sign"),
        (E::EmptyLocalPart.message(), "has nothing before the @ sign"),
        (E::EmptyDomain.message(), "has nothing after the @ sign"),
        (E::InvalidLocalChar(' ').message(), "contains the character ' ' before the @ sign, which is not allowed"),
        (
            E::MisplacedDot.message(),
            "has a dot at the start or end of the part before the @ sign, or two dots in a row",
        ),
        (E::LocalPartTooLong.message(), "has more than 64 characters before the @ sign"),
        (E::TooLong.message(), "is longer than 254 characters"),
        (E::InvalidDomainChar('@').message(), "contains the character '@' in the domain, which is not allowed"),
        (
            E::EmptyDomainLabel.message(),
            "has an empty part in the domain (a dot at its start or end, or two dots in a row)",
        ),
        (E::DomainLabelTooLong.message(), "has a domain part longer than 63 characters"),
        (E::DomainLabelHyphen.message(), "has a domain part that starts or ends with a hyphen"),
        (E::DomainWithoutDot.message(), "has a domain without a dot"),
        (E::NumericTopLevelDomain.message(), "has a domain that ends in a number"),
        (E::MissingAt.sentence(), "The address is missing the @ sign."),
    ]);
    // Display is the English message.
    assert_eq!(E::MissingAt.to_string(), "is missing the @ sign");
}

#[test]
fn an_email_error_has_its_own_russian() {
    let error = crate::email::EmailAddress::parse("anna.example.com").unwrap_err();
    let english = error.message().in_language(Language::En);
    let russian = error.message().in_language(Language::Ru);
    assert_ne!(russian, english);
    assert_eq!(russian, "не содержит знака @");
    assert_eq!(error.sentence().in_language(Language::Ru), "Адрес не содержит знака @.");
}

#[test]
fn tag_and_note_errors_read_as_before_and_in_russian() {
    check(vec![
        (TextError::Empty.message(), "cannot be empty"),
        (TextError::TooLong(64).message(), "can have at most 64 characters"),
        (TextError::ControlChar.message(), "cannot contain line breaks or control characters"),
        (parse_tag(" ").unwrap_err().tag_message(), "A tag cannot be empty."),
        (parse_tag(&"x".repeat(65)).unwrap_err().tag_message(), "A tag can have at most 64 characters."),
        (parse_tag("a\nb").unwrap_err().about_a_tag(), "a tag cannot contain line breaks or control characters"),
        (parse_note(" ").unwrap_err().note_message(), "A note cannot be empty."),
        (parse_note(&"x".repeat(5001)).unwrap_err().note_message(), "A note can have at most 5000 characters."),
    ]);
    assert_eq!(parse_note("\n").unwrap_err().note_message().in_language(Language::Ru), "Заметка не может быть пустой.");
}

#[test]
fn property_event_pin_and_operation_errors_read_as_before_and_in_russian() {
    use PropertyError as P;
    let wrong = Operation::Add { name: PropertyName::parse("visits").unwrap(), by: 1.0 }
        .apply(Some(&PropertyValue::Text("x".into())))
        .unwrap_err();
    let email_type = PropertyValue::Number(1.0).check_for(&PropertyName::parse("$email").unwrap()).unwrap_err();
    let batch = check_operator_batch(&[Operation::Set {
        name: PropertyName::parse("plan").unwrap(),
        value: PropertyValue::Text("x".repeat(300)),
    }])
    .unwrap_err();
    check(vec![
        (P::EmptyName.message(), "a property name cannot be empty"),
        (P::NameTooLong.message(), "a property name can have at most 255 characters"),
        (P::NameControlChar.message(), "a property name cannot contain control characters"),
        (
            P::UnknownSystemName("$plan".into()).message(),
            "names starting with $ are reserved for system properties; \"$plan\" is not one",
        ),
        (
            P::ReadOnly("$last_seen".into()).message(),
            "\"$last_seen\" is set by tracking only and cannot be changed here",
        ),
        (P::TextTooLong.message(), "text can have at most 255 characters"),
        (P::TooManyItems.message(), "a list can have at most 30 items"),
        (P::ListItemTooLong.message(), "each item of a list can have at most 255 characters"),
        (P::NotFinite.message(), "a number must be finite"),
        (P::IntegerOutOfRange.message(), "whole numbers must lie within ±2^53"),
        (P::TooManyProperties.message(), "at most 250 properties in one request"),
        (wrong.message(), "\"visits\" holds a number, not Text"),
        (email_type.message(), "\"$email\" holds Text, not Number"),
        (batch.message(), "plan: text can have at most 255 characters"),
        (EventError::EmptyName.message(), "an event name cannot be empty"),
        (EventError::NameTooLong.message(), "an event name can have at most 255 characters"),
        (EventError::NameControlChar.message(), "an event name cannot contain control characters"),
        (
            EventError::UnknownSystemEvent("$buy".into()).message(),
            "names starting with $ are reserved for system events; \"$buy\" is not one",
        ),
        (
            EventError::Property { name: "note".into(), error: P::TextTooLong }.message(),
            "property \"note\": text can have at most 255 characters",
        ),
        (EventError::TooManyProperties.message(), "at most 250 properties on one event"),
        (PinsError::TooMany.message(), "at most 20 properties can be pinned"),
        (PinsError::BadName { index: 0, error: P::EmptyName }.message(), "a property name cannot be empty"),
        (display_name_message(None, Some(" "), 7), "Lead #7"),
    ]);
    assert_eq!(display_name_message(None, None, 7).in_language(Language::Ru), "Лид №7");
    assert_eq!(display_name_message(Some("Anna"), None, 7).in_language(Language::Ru), "Anna");
    assert_eq!(email_type.message().in_language(Language::Ru), "«$email»: нужно значение типа «Текст», а не «Число»");
    // Display is the English message, for every enum.
    assert_eq!(P::NotFinite.to_string(), "a number must be finite");
    assert_eq!(batch.to_string(), "plan: text can have at most 255 characters");
    assert_eq!(PinsError::TooMany.to_string(), "at most 20 properties can be pinned");
    assert_eq!(EventError::EmptyName.to_string(), "an event name cannot be empty");
    let _: &OperationError = &batch;
}

#[test]
fn subscription_and_menu_refusals_read_as_before_and_in_russian() {
    use Refusal as R;
    use TransitionError as T;
    check(vec![
        (T::HardBounced.message(), "a hard-bounced address is never mailed again"),
        (T::InvalidAddress.message(), "the address is not valid"),
        (T::Unsubscribed.message(), "the lead unsubscribed; only the lead can subscribe again, by confirming"),
        (T::DoubleOptInOff.message(), "Double Opt-In is off"),
        (T::AlreadySubscribed.message(), "the address is already subscribed"),
        (R::InvalidAddress.message(), "the address is not valid"),
        (R::HardBounced.message(), "the address hard-bounced and is never mailed again"),
        (R::CoolingDown.message(), "the address soft-bounced and is cooling down"),
        (R::Unsubscribed.message(), "the lead unsubscribed from emails"),
        (R::NotConfirmed.message(), "the lead has not confirmed the subscription yet"),
        (R::DoubleOptInOff.message(), "Double Opt-In is off"),
        (R::AlreadySubscribed.message(), "the address is already subscribed"),
        (MenuRefusal::NoAddress.message(), "the lead has no email address"),
        (MenuRefusal::AlreadyUnsubscribed.message(), "the lead is already unsubscribed"),
        (MenuRefusal::from(T::HardBounced).message(), "a hard-bounced address is never mailed again"),
        (MenuRefusal::from(R::CoolingDown).message(), "the address soft-bounced and is cooling down"),
        (ChannelRefusal::NeverOnSite.message(), "the lead has never been on the site, so the widget cannot show it"),
        (ChannelRefusal::NoAddress.message(), "the lead has no email address"),
        (ChannelRefusal::from(R::Unsubscribed).message(), "the lead unsubscribed from emails"),
    ]);
    assert_eq!(MenuRefusal::NoAddress.to_string(), "the lead has no email address");
    assert_eq!(ChannelRefusal::NoAddress.to_string(), "the lead has no email address");
    assert_eq!(R::Unsubscribed.to_string(), "the lead unsubscribed from emails");
    assert_eq!(T::DoubleOptInOff.to_string(), "Double Opt-In is off");
}

#[test]
fn the_menu_and_the_channels_give_their_reasons_in_the_readers_language() {
    use crate::inbox::{ChannelFacts, Channels};
    use crate::mail::EmailActions;
    use crate::subscription::EmailSettings;
    let settings = EmailSettings::default();
    let english = EmailActions::of(None, &settings, now());
    assert_eq!(english.unsubscribe.reason.as_deref(), Some("the lead has no email address"));
    let russian = EmailActions::rendered(None, &settings, now(), |m| m.in_language(Language::Ru));
    assert_eq!(russian.unsubscribe.reason.as_deref(), Some("у лида нет адреса эл. почты"));
    assert!(!russian.send_confirmation.allowed);
    let facts = ChannelFacts { has_visitor: false, address: None };
    let channels = Channels::rendered(facts, &settings, now(), |m| m.in_language(Language::Ru));
    assert!(is_russian(channels.popup.reason.as_deref().unwrap()));
    assert_eq!(channels.email.reason.as_deref(), Some("у лида нет адреса эл. почты"));
    assert_eq!(
        Channels::of(facts, &settings, now()).chat.reason.as_deref(),
        Some(ChannelRefusal::NeverOnSite.to_string().as_str())
    );
}

#[test]
fn mail_and_inbox_checks_read_as_before_and_in_russian() {
    let settings = EmailSettingsBody { double_opt_in: false, soft_bounce_cool_down_hours: 24, soft_bounces_to_hard: 3 };
    let bounce = BounceReport {
        address: "lena@example.com".into(),
        status_code: "5.1.1".into(),
        smtp_code: Some(550),
        reason: "no such mailbox".into(),
    };
    let campaign = NewCampaign { subject: "News".into(), body: "Hello".into(), filter: None };
    let many_ids = BulkSelection { ids: Some(vec![1; 10_001]), ..Default::default() };
    check(vec![
        (
            field(EmailSettingsBody { soft_bounce_cool_down_hours: 0, ..settings }.check()),
            "The cool-down must be from 1 to 720 hours.",
        ),
        (
            field(EmailSettingsBody { soft_bounces_to_hard: 0, ..settings }.check()),
            "The number of soft bounces must be from 1 to 100.",
        ),
        (
            field(BounceReport { address: "nope".into(), ..bounce.clone() }.check()),
            "The address is missing the @ sign.",
        ),
        (
            field(BounceReport { status_code: "2.0.0".into(), ..bounce.clone() }.check()),
            "Send an RFC 3463 failure code: 4.x.x (soft) or 5.x.x (hard).",
        ),
        (
            field(BounceReport { smtp_code: Some(450), ..bounce.clone() }.check()),
            "The SMTP code must be a 5xx failure code, like the status code.",
        ),
        (field(BounceReport { reason: " ".into(), ..bounce.clone() }.check()), "Say why the mail bounced."),
        (
            field(BounceReport { reason: "x".repeat(501), ..bounce }.check()),
            "The reason can have at most 500 characters.",
        ),
        (field(NewCampaign { subject: " ".into(), ..campaign.clone() }.check()), "A campaign needs a subject."),
        (field(NewCampaign { subject: "a\nb".into(), ..campaign.clone() }.check()), "The subject must be one line."),
        (
            field(NewCampaign { subject: "s".repeat(201), ..campaign.clone() }.check()),
            "The subject can have at most 200 characters.",
        ),
        (field(NewCampaign { body: " ".into(), ..campaign.clone() }.check()), "A campaign needs a body."),
        (
            field(NewCampaign { body: "b".repeat(50_001), ..campaign }.check()),
            "The body can have at most 50000 characters.",
        ),
        (field(ConversationFilter::parse(Some("new"), None)), "status must be open, closed or all."),
        (field(ConversationFilter::parse(None, Some("you"))), "assignee must be any, me or unassigned."),
        (field(check_body(" ", "body")), "Write a message first."),
        (
            field(check_body(&"x".repeat(10_001), "body")),
            "A message can be at most 10000 characters (this one has 10001).",
        ),
        (field(check_message(Channel::Chat, "hi", Some("S"), "abcdefgh")), "Only an email has a subject."),
        (
            field(check_message(Channel::Email, "hi", Some(&"s".repeat(256)), "abcdefgh")),
            "A subject can be at most 255 characters.",
        ),
        (field(check_message(Channel::Email, "hi", Some("a\u{7}b"), "abcdefgh")), "A subject is one line of text."),
        (
            field(check_message(Channel::Chat, "hi", None, "short")),
            "The idempotency key must be 8 to 64 letters, digits, '-' or '_'.",
        ),
        (SystemEntry::Assigned { by: "Anna".into(), to: Some("Anna".into()) }.message(), "Anna took this conversation"),
        (
            SystemEntry::Assigned { by: "Anna".into(), to: Some("Boris".into()) }.message(),
            "Anna assigned this conversation to Boris",
        ),
        (SystemEntry::Assigned { by: "Anna".into(), to: None }.message(), "Anna unassigned this conversation"),
        (SystemEntry::Closed { by: "Anna".into() }.message(), "Anna closed this conversation"),
        (SystemEntry::Reopened { by: Some("Anna".into()) }.message(), "Anna reopened this conversation"),
        (SystemEntry::Reopened { by: None }.message(), "The lead's new message reopened this conversation"),
        (field(BulkSelection { ids: Some(vec![]), ..Default::default() }.checked_ids()), "Select at least one lead."),
        (field(many_ids.checked_ids()), "At most 10000 leads one by one; select all leads of the filter instead."),
        (
            field(BulkSelection { ids: Some(vec![1, 0]), ..Default::default() }.checked_ids()),
            "Lead ids are whole numbers above 0.",
        ),
        (field(BulkAction::AddTag { tag: " ".into() }.check()), "A tag cannot be empty."),
        (field(BulkAction::Properties { operations: vec![] }.check()), "Give at least one operation."),
        (
            field(
                BulkAction::Properties {
                    operations: vec![Operation::Set {
                        name: PropertyName::parse("$email").unwrap(),
                        value: PropertyValue::Text("a@b.co".into()),
                    }],
                }
                .check(),
            ),
            "Email names one person; change it on each card.",
        ),
    ]);
}

#[test]
fn account_segment_and_lead_checks_read_as_before_and_in_russian() {
    let merge = |other: i64, take: &[&str]| MergeLeads { other, take: take.iter().map(|s| s.to_string()).collect() };
    let body = |properties: Vec<(&str, PropertyValue)>, tags: Vec<String>| NewLeadBody {
        properties: properties.into_iter().map(|(name, value)| NewProperty { name: name.into(), value }).collect(),
        tags,
    };
    let anna = || ("$name", PropertyValue::Text("Anna".into()));
    let no_condition = NewSegment { name: "S".into(), filter: Filter::default() };
    check(vec![
        (
            field(check_new_password("Q1W2E3R4T5Y6", "a@b.co", "password")),
            "This password is on a list of common passwords. Choose another.",
        ),
        (field(check_new_password("short", "a@b.co", "password")), "A password needs at least 12 characters."),
        (
            field(check_new_password(&"x".repeat(1025), "a@b.co", "password")),
            "A password can have at most 1024 characters.",
        ),
        (
            field(check_new_password("with a nul\0 inside", "a@b.co", "password")),
            "A password cannot contain a NUL character.",
        ),
        (
            field(check_new_password("anna.berg@example.com", "Anna.Berg@example.com", "password")),
            "A password cannot be the account's email.",
        ),
        (field(check_keeps_an_admin(1, true, false)), "This is the only admin: make another operator admin first."),
        (check_segment_name(" ").unwrap_err().message, "a segment needs a name"),
        (check_segment_name(&"s".repeat(101)).unwrap_err().message, "a segment name can have at most 100 characters"),
        (check_segment_name("a\nb").unwrap_err().message, "a segment name is one line of text"),
        (SegmentNameError::Empty.sentence(), "The segment needs a name."),
        (
            parse_segment_name(&"s".repeat(101)).unwrap_err().sentence(),
            "The segment name can have at most 100 characters.",
        ),
        (SegmentNameError::ControlChar.sentence(), "The segment name is one line of text."),
        (no_condition.check(&[], None).unwrap_err().message, "a segment needs at least one condition"),
        (field(merge(0, &[]).taken(1)), "There is no lead with this id."),
        (field(merge(1, &[]).taken(1)), "A card cannot be merged with itself."),
        (field(merge(2, &vec!["p"; 251]).taken(1)), "At most 250 properties can be taken from the other card."),
        (
            field(merge(2, &["$plan"]).taken(1)),
            "names starting with $ are reserved for system properties; \"$plan\" is not one",
        ),
        (
            field(merge(2, &["$sessions"]).taken(1)),
            "$sessions is combined by the merge (sessions add up; first and last seen widen).",
        ),
        (
            field(check_new_lead(&body(vec![("", PropertyValue::Bool(true))], vec![]))),
            "a property name cannot be empty",
        ),
        (field(check_new_lead(&body(vec![anna(), anna()], vec![]))), "this property is given twice"),
        (
            field(check_new_lead(&body(vec![("$last_seen", PropertyValue::Text("x".into()))], vec![]))),
            "\"$last_seen\" is set by tracking only and cannot be changed here",
        ),
        (
            field(check_new_lead(&body(vec![("plan", PropertyValue::Text("x".into()))], vec![]))),
            "Give the lead at least a name, an email, a phone or a user ID.",
        ),
        (field(check_new_lead(&body(vec![anna()], vec!["t".into(); 51]))), "A new lead can have at most 50 tags."),
        (field(check_new_lead(&body(vec![anna()], vec![" ".into()]))), "A tag cannot be empty."),
        (field(parse_columns(Some(&vec!["a"; 101].join(",")))), "An export can have at most 100 columns."),
        (
            field(parse_columns(Some("$email,$plan"))),
            "\"$plan\": names starting with $ are reserved for system properties; \"$plan\" is not one",
        ),
        (field(check_zone("Not a zone!", "timezone")), "must be an IANA time zone name such as Europe/Berlin"),
        (field(check_language("not a tag", "language")), "must be a language tag such as en-US"),
    ]);
}

#[test]
fn import_checks_read_as_before_and_in_russian() {
    let header = ["Name", "Seats", "Plan", "Tags", "Status"];
    let property = |name: &str, ty| Target::Property { name: name.into(), ty };
    let mapping = vec![
        property("$name", PropertyType::Text),
        property("Seats", PropertyType::Number),
        property("Plan", PropertyType::Bool),
        Target::Tags,
        Target::Status,
    ];
    let row = |cells: [&str; 5]| check_row(&header, &mapping, &cells).unwrap_err();
    let mut wrong = mapping.clone();
    wrong[2] = property("Seats", PropertyType::Number);
    let mut spaced = mapping.clone();
    spaced[2] = property(" Plan", PropertyType::Bool);
    let mut tracked = mapping.clone();
    tracked[2] = property("$last_seen", PropertyType::DateTime);
    let mut typed = mapping.clone();
    typed[2] = property("$email", PropertyType::Number);
    let mut twice = mapping.clone();
    twice[4] = Target::Tags;
    check(vec![
        (field(check_mapping(&header, &mapping[..4])), "The file has 5 columns: give one target for each (4 given)."),
        (field(check_mapping(&header, &wrong)), "Column \"Plan\": Seats is already imported from column \"Seats\"."),
        (field(check_mapping(&header, &spaced)), "Column \"Plan\": write the property's name as is."),
        (
            field(check_mapping(&header, &tracked)),
            "Column \"Plan\": \"$last_seen\" is set by tracking only and cannot be imported",
        ),
        (field(check_mapping(&header, &typed)), "Column \"Plan\": \"$email\" holds Text"),
        (field(check_mapping(&header, &twice)), "Column \"Status\": only one column can hold this."),
        (
            field(check_mapping(&header, &[Target::Skip, Target::Skip, Target::Skip, Target::Skip, Target::Skip])),
            "Import at least one column as name, email, phone or user ID.",
        ),
        (row(["A", "twelve", "", "", ""]), "column \"Seats\": \"twelve\" is not a number"),
        (row(["A", "", "maybe", "", ""]), "column \"Plan\": \"maybe\" is not true or false"),
        (row(["A", "", "", "a\u{1}b", ""]), "column \"Tags\": a tag cannot contain line breaks or control characters"),
        (row(["A", "", "", "", "resubscribe"]), "column \"Status\": \"resubscribe\" is not a subscription status"),
        (row(["", "", "", "", ""]), "no name, email, phone or user ID to know the lead by"),
        (row(["A", "1e400", "", "", ""]), "column \"Seats\": \"1e400\" is not a number"),
        (
            Target::parse("$first_seen:number").unwrap_err(),
            "\"$first_seen\" is set by tracking only and cannot be imported",
        ),
    ]);
    let dates = [property("$name", PropertyType::Text), property("Since", PropertyType::DateTime)];
    let err = check_row(&["Name", "Since"], &dates, &["A", "soon"]).unwrap_err();
    check(vec![(err, "column \"Since\": \"soon\" is not a date (YYYY-MM-DD or RFC 3339)")]);
    let list = [property("$name", PropertyType::Text), property("Seats", PropertyType::Text)];
    let err = check_row(&["Name", "Seats"], &list, &["A", &"x".repeat(256)]).unwrap_err();
    check(vec![(err, "\"Seats\": text can have at most 255 characters")]);
}

#[test]
fn tracking_checks_read_as_before_and_in_russian() {
    let event = |value: serde_json::Value| serde_json::from_value::<TrackedEvent>(value).unwrap().check(now());
    let added = |name: &str, properties: BTreeMap<String, PropertyValue>, occurred_at: Option<DateTime<Utc>>| {
        AddEvent { name: name.into(), properties, occurred_at }.check(now())
    };
    let long = BTreeMap::from([("note".to_owned(), PropertyValue::Text("x".repeat(256)))]);
    check(vec![
        (field(check_client_id("bad id!", "visitor_id")), "must be 1 to 64 letters, digits or _ - . :"),
        (field(check_user_id(" ")), "must be 1 to 255 characters"),
        (field(check_url("a\nb", "url")), "must be at most 2048 characters without controls"),
        (field(check_title(&"t".repeat(256), "title")), "must be at most 255 characters"),
        (value_from_json(&json!([1])).unwrap_err(), "a list can hold only text"),
        (
            value_from_json(&json!(null)).unwrap_err(),
            "must be text, a number, true/false, a list of text or a typed value",
        ),
        (value_from_json(&json!("x".repeat(256))).unwrap_err(), "text can have at most 255 characters"),
        (field(event(json!({"name": " "}))), "an event name cannot be empty"),
        (
            field(event(json!({"name": "$buy"}))),
            "names starting with $ are reserved for system events; \"$buy\" is not one",
        ),
        (field(event(json!({"name": "x", "properties": {" ": 1}}))), "a property name must be 1 to 255 characters"),
        (field(event(json!({"name": "$session_start", "properties": {"timezone": 1}}))), "must be text"),
        (
            field(event(json!({"name": "x", "properties": {"note": "x".repeat(256)}}))),
            "text can have at most 255 characters",
        ),
        (field(event(json!({"name": "$page_view"}))), "a page view needs the page's url (text)"),
        (
            field(event(json!({"name": "x", "time": "2030-01-01T00:00:00Z"}))),
            "an event cannot be more than an hour in the future",
        ),
        (field(check_events(&[], now())), "send at least one event"),
        (
            field(check_events(&vec![serde_json::from_value(json!({"name": "x"})).unwrap(); 101], now())),
            "at most 100 events in one request",
        ),
        (field(added("$page_view", BTreeMap::new(), None)), "system events ($...) are sent by tracking only"),
        (field(added(&"x".repeat(256), BTreeMap::new(), None)), "an event name can have at most 255 characters"),
        (field(added("Called", long, None)), "text can have at most 255 characters"),
        (
            field(added("Called", BTreeMap::new(), Some(now() + chrono::Duration::hours(2)))),
            "an event cannot be more than an hour in the future",
        ),
    ]);
    let typed = value_from_json(&json!({"type": "number", "value": "x"})).unwrap_err();
    assert!(typed.to_string().starts_with("is not a typed value: "), "{typed}");
    assert!(typed.in_language(Language::Ru).starts_with("не является типизированным значением: "), "{typed}");
}

#[test]
fn filter_refusals_read_as_before_and_in_russian() {
    let condition = |c: &str| filter(&format!(r#"{{"all":[{c}]}}"#));
    let many = vec![r#"{"kind":"tag","tag":"x"}"#; 21].join(",");
    let at_least = EventOp::AtLeast.label();
    check(vec![
        (filter("3"), "is not a valid filter: expected an object like {\"all\": [...]}"),
        (filter(r#"{"match":"both","all":[]}"#), "must be \"all\" or \"any\""),
        (filter(r#"{"all":3}"#), "must be a list of conditions"),
        (condition("3"), "is not a condition"),
        (condition(r#"{"kind":"property","op":"exists"}"#), "is missing"),
        (condition(r#"{"kind":"property","name":3,"op":"exists"}"#), "must be text"),
        (condition(r#"{"kind":"property","name":"x","op":"sounds_like"}"#), "unknown operator \"sounds_like\""),
        (condition(r#"{"kind":"subscription","status":"maybe"}"#), "unknown subscription status \"maybe\""),
        (condition(r#"{"kind":"presence","presence":"away"}"#), "unknown presence \"away\""),
        (condition(r#"{"kind":"event","event":"x","op":"at_least","count":1.5}"#), "must be a whole number"),
        (condition(r#"{"kind":"tag","tag":"x","has":"yes"}"#), "must be true or false"),
        (condition(r#"{"kind":"segment"}"#), "choose a segment"),
        (condition(r#"{"kind":"segment","segment":"a"}"#), "must be a segment id"),
        (condition(r#"{"kind":"color"}"#), "unknown kind \"color\""),
        (condition(r#"{"kind":"tag","tag":"a\u0000"}"#), "cannot contain the NUL character (U+0000)"),
        (filter(&format!(r#"{{"all":[{many}]}}"#)), "at most 20 conditions in one list"),
        (
            condition(r#"{"kind":"property","name":"$nope","op":"exists"}"#),
            "names starting with $ are reserved for system properties; \"$nope\" is not one",
        ),
        (condition(r#"{"kind":"property","name":"x","op":"equals"}"#), "\"is\" needs a value"),
        (
            condition(&format!(r#"{{"kind":"property","name":"x","op":"equals","value":"{}"}}"#, "v".repeat(256))),
            "a value can have at most 255 characters",
        ),
        (condition(r#"{"kind":"property","name":"x","op":"greater","value":"abc"}"#), "\"abc\" is not a number"),
        (
            condition(r#"{"kind":"property","name":"x","op":"after","value":"yesterday"}"#),
            "\"yesterday\" is not a date (use YYYY-MM-DD)",
        ),
        (
            condition(r#"{"kind":"property","name":"x","op":"within_last_days","value":"0"}"#),
            "days must be a whole number from 1 to 3650",
        ),
        (condition(r#"{"kind":"tag","tag":" "}"#), "choose a tag"),
        (condition(&format!(r#"{{"kind":"tag","tag":"{}"}}"#, "t".repeat(65))), "a tag can have at most 64 characters"),
        (condition(r#"{"kind":"event","event":" ","op":"not_performed"}"#), "an event name cannot be empty"),
        (condition(r#"{"kind":"event","event":"x","op":"at_least"}"#), &format!("\"{at_least}\" needs a count")),
        (condition(r#"{"kind":"event","event":"x","op":"at_most","count":-1}"#), "a count cannot be negative"),
        (condition(r#"{"kind":"event","event":"x","op":"at_most","count":1000001}"#), "a count can be at most 1000000"),
        (
            condition(r#"{"kind":"event","event":"x","op":"at_least","count":0}"#),
            "\"at least 0 times\" is every lead: use 1 or more",
        ),
        (
            condition(r#"{"kind":"event","event":"x","op":"not_performed","days":0}"#),
            "days must be from 1 to 3650 (or none, for ever)",
        ),
        (
            condition(r#"{"kind":"group","conditions":[{"kind":"group","conditions":[{"kind":"tag","tag":"x"}]}]}"#),
            "a group cannot hold another group (one level of nesting)",
        ),
        (condition(r#"{"kind":"group","conditions":[]}"#), "a group needs at least one condition"),
        (condition(r#"{"kind":"segment","segment":9}"#), "there is no segment 9"),
    ]);
    let malformed = filter("{");
    assert!(malformed.to_string().starts_with("is not a valid filter: "), "{malformed}");
}
