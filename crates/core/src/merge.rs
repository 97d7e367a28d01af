//! Merging two cards of one person: which properties differ and whose value the kept card takes,
//! when a merge is refused, and which address status survives (a stop is never lost).

use serde::{Deserialize, Serialize};

use crate::field::FieldError;
use crate::locale::{Message, Text, k};
use crate::property::{MAX_PROPERTIES_PER_REQUEST, PropertyName, PropertyValue};
use crate::subscription::{AddressState, BounceKind, SubscriptionStatus};
use crate::wire::LeadCard;

/// Properties a merge combines by rule instead of asking: sessions add up, first seen is the
/// earlier, last seen the later.
pub const COMBINED: [&str; 3] = ["$sessions", "$first_seen", "$last_seen"];

/// `POST /api/v1/leads/{id}/merge`: the card `other` goes into the card `id`, which is kept.
/// `take` names the properties whose value comes from `other`; every other property both cards
/// have keeps the kept card's value, and a property only one card has is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeLeads {
    /// The card merged into the kept one; afterwards its id answers with the kept card.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub other: i64,
    /// Property names (custom ones, or the system ones the merge does not combine).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 250, inline, value_type = Vec<TakenName>))]
    pub take: Vec<String>,
}

/// A property name in `take`, as the document describes it: a custom name (no control
/// characters, not starting with `$`), or a system one that is not combined by rule.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(
    pattern = "^(\\$(name|email|phone|user_id|avatar|city|country|timezone|language|browser|os|initial_referrer|referrer|utm_source|utm_medium|utm_campaign|utm_term|utm_content)|[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000$][^\\u0000-\\u001f\\u007f-\\u009f]{0,200})$"
)]
#[allow(dead_code)]
struct TakenName(String);

impl MergeLeads {
    /// The names in `take`, checked: a property name the card may hold, not one combined by
    /// rule, at most [`MAX_PROPERTIES_PER_REQUEST`]; the field names the first bad one.
    pub fn taken(&self, kept: i64) -> Result<Vec<PropertyName>, FieldError> {
        if self.other <= 0 {
            return Err(FieldError::new("other", k::CHECK_MERGE_NO_LEAD));
        }
        if self.other == kept {
            return Err(FieldError::new("other", k::CHECK_MERGE_ITSELF));
        }
        if self.take.len() > MAX_PROPERTIES_PER_REQUEST {
            return Err(FieldError::new(
                "take",
                Message::new(k::CHECK_MERGE_TOO_MANY).arg("max", MAX_PROPERTIES_PER_REQUEST),
            ));
        }
        let mut names: Vec<PropertyName> = Vec::with_capacity(self.take.len());
        for (i, raw) in self.take.iter().enumerate() {
            let field = || format!("take[{i}]");
            let name = PropertyName::parse(raw).map_err(|e| FieldError::new(field(), e.message()))?;
            if COMBINED.contains(&name.as_str()) {
                return Err(FieldError::new(field(), Message::new(k::CHECK_MERGE_COMBINED).arg("name", name.as_str())));
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Ok(names)
    }
}

/// A property both cards have, with different values: the operator picks one.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub name: String,
    pub kept: PropertyValue,
    pub other: PropertyValue,
}

/// The properties the two cards hold with different values, in the kept card's order (those
/// combined by rule left out).
pub fn differences(kept: &LeadCard, other: &LeadCard) -> Vec<Difference> {
    kept.properties
        .iter()
        .filter(|p| !COMBINED.contains(&p.name.as_str()))
        .filter_map(|p| {
            let theirs = other.property(&p.name)?;
            (theirs != &p.value).then(|| Difference {
                name: p.name.clone(),
                kept: p.value.clone(),
                other: theirs.clone(),
            })
        })
        .collect()
}

/// Why two cards cannot be merged, or None when they can. The site knows each user by one user
/// id: two different ones are two people to the site, and one of them would lose its card.
pub fn refusal(kept_user_id: Option<&str>, other_user_id: Option<&str>) -> Option<&'static str> {
    refusal_text(kept_user_id, other_user_id).map(|reason| reason.en)
}

/// [`refusal`] as a catalogue text, for the operator's language.
pub fn refusal_text(kept_user_id: Option<&str>, other_user_id: Option<&str>) -> Option<Text> {
    match (kept_user_id, other_user_id) {
        (Some(a), Some(b)) if a != b => Some(k::CORE_MERGE_REFUSED),
        _ => None,
    }
}

/// How strongly a status stops mail: a hard bounce, then an unsubscribe; every other status
/// is the address's own business.
fn stop_rank(state: &AddressState) -> u8 {
    match (state.status, state.bounce) {
        (SubscriptionStatus::Bounced, Some(BounceKind::Hard)) => 2,
        (SubscriptionStatus::Unsubscribed, _) => 1,
        _ => 0,
    }
}

/// The kept address's state after a merge dropped an address from the person (`dropped`): a
/// hard bounce or an unsubscribe the kept address does not already have (or a stronger one)
/// carries over, so the person is not mailed through the other address. None: no change.
pub fn surviving_status(kept: &AddressState, dropped: &AddressState) -> Option<AddressState> {
    (stop_rank(dropped) > stop_rank(kept)).then(|| AddressState {
        status: dropped.status,
        bounce: dropped.bounce,
        soft_bounces: kept.soft_bounces,
        cool_down_until: None,
        confirmed: kept.confirmed,
        reason: Some(
            match &dropped.reason {
                Some(reason) => {
                    Message::new(k::REASON_MERGED_ADDRESS_BECAUSE).with("reason", Message::from_stored(reason))
                }
                None => Message::new(k::REASON_MERGED_ADDRESS),
            }
            .to_stored(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::subscription::EmailSettings;
    use crate::wire::Property;

    fn card(id: i64, properties: &[(&str, PropertyValue)]) -> LeadCard {
        let mut card: LeadCard = serde_json::from_value(serde_json::json!({
            "id": id, "version": 1, "display_name": "x", "avatar_url": null, "created_at": Utc::now(),
            "last_seen": null, "last_heartbeat": null, "last_active": null, "properties": [], "tags": [],
            "subscription": {"email": null, "status": "invalid_email", "bounce": null, "reason": null,
                "changed_at": null, "cool_down_until": null,
                "actions": {"unsubscribe": {"allowed": false}, "send_confirmation": {"allowed": false}}}
        }))
        .unwrap();
        card.properties = properties
            .iter()
            .map(|(n, v)| Property { name: (*n).to_owned(), value: v.clone(), updated_at: Utc::now() })
            .collect();
        card
    }

    fn text(s: &str) -> PropertyValue {
        PropertyValue::Text(s.to_owned())
    }

    #[test]
    fn only_properties_both_cards_hold_differently_are_asked() {
        let kept = card(1, &[("$name", text("Ann")), ("plan", text("Pro")), ("$sessions", PropertyValue::Number(2.0))]);
        let other = card(
            2,
            &[
                ("$name", text("Ann B")),
                ("plan", text("Pro")),
                ("$sessions", PropertyValue::Number(5.0)),
                ("vip", text("y")),
            ],
        );
        assert_eq!(
            differences(&kept, &other),
            vec![Difference { name: "$name".into(), kept: text("Ann"), other: text("Ann B") }]
        );
    }

    #[test]
    fn take_is_checked_and_names_the_bad_entry() {
        let request =
            |other: i64, take: &[&str]| MergeLeads { other, take: take.iter().map(|s| (*s).to_owned()).collect() };
        assert_eq!(request(2, &["$name", "plan", "plan"]).taken(1).unwrap().len(), 2);
        assert_eq!(request(1, &[]).taken(1).unwrap_err().field, "other");
        assert_eq!(request(0, &[]).taken(1).unwrap_err().field, "other");
        assert_eq!(request(2, &["plan", "$plan"]).taken(1).unwrap_err().field, "take[1]");
        assert_eq!(request(2, &["$sessions"]).taken(1).unwrap_err().field, "take[0]");
        let many: Vec<String> = (0..=MAX_PROPERTIES_PER_REQUEST).map(|i| format!("p{i}")).collect();
        assert_eq!(MergeLeads { other: 2, take: many }.taken(1).unwrap_err().field, "take");
    }

    #[test]
    fn two_different_user_ids_refuse_a_merge() {
        assert!(refusal(Some("u1"), Some("u2")).is_some());
        assert!(refusal(Some("u1"), Some("u1")).is_none());
        assert!(refusal(None, Some("u2")).is_none());
        assert!(refusal(Some("u1"), None).is_none());
    }

    #[test]
    fn a_hard_bounce_or_an_unsubscribe_is_never_lost() {
        let settings = EmailSettings::default();
        let subscribed = AddressState::new(true, &settings);
        let unsubscribed = AddressState { status: SubscriptionStatus::Unsubscribed, ..subscribed.clone() };
        let hard = AddressState {
            status: SubscriptionStatus::Bounced,
            bounce: Some(BounceKind::Hard),
            reason: Some("550 5.1.1".into()),
            ..subscribed.clone()
        };
        let soft =
            AddressState { status: SubscriptionStatus::Bounced, bounce: Some(BounceKind::Soft), ..subscribed.clone() };
        assert_eq!(surviving_status(&subscribed, &unsubscribed).unwrap().status, SubscriptionStatus::Unsubscribed);
        let after = surviving_status(&unsubscribed, &hard).unwrap();
        assert_eq!((after.status, after.bounce), (SubscriptionStatus::Bounced, Some(BounceKind::Hard)));
        let reason = Message::from_stored(after.reason.as_deref().unwrap());
        assert_eq!(reason.to_string(), "from a merged card's address: 550 5.1.1");
        assert_eq!(surviving_status(&hard, &unsubscribed), None);
        assert_eq!(surviving_status(&unsubscribed, &unsubscribed), None);
        assert_eq!(surviving_status(&subscribed, &soft), None, "a soft bounce belongs to its address");
    }
}
