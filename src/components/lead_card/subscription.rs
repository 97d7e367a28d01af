//! The email subscription status, at the bottom of the card's properties: the status shared by
//! every card with this address, why (a bounce by its cause, "Bounced — soft: mailbox full", with
//! the server's words beside it; "Unsubscribed: unsubscribed by an operator"), since when, and
//! after a soft bounce until when no mail goes out.

use leadcard_core::wire::Subscription;
use leadcard_core::{BounceKind, SubscriptionStatus};
use leptos::prelude::*;

use crate::browser::i18n::{k, t};
use crate::time;

/// The badge's text: the status, with the kind of bounce and its cause (core's label), else the
/// recorded reason.
pub fn status_text(subscription: &Subscription) -> String {
    let status = match (subscription.status, subscription.bounce) {
        (SubscriptionStatus::Bounced, Some(BounceKind::Hard)) => t(k::CARD_SUBSCRIPTION_BOUNCED_HARD).to_owned(),
        (SubscriptionStatus::Bounced, Some(BounceKind::Soft)) => t(k::CARD_SUBSCRIPTION_BOUNCED_SOFT).to_owned(),
        (status, _) => t(status.text()).to_owned(),
    };
    match (subscription.bounce_cause, &subscription.reason) {
        (Some(cause), _) => format!("{status}: {}", t(cause.text())),
        (None, Some(reason)) if !reason.trim().is_empty() => format!("{status}: {reason}"),
        _ => status,
    }
}

#[component]
pub fn SubscriptionInfo(subscription: Subscription) -> impl IntoView {
    let text = status_text(&subscription);
    // A bounce's own words (`552 5.2.2 Mailbox full`) go beside its cause.
    let server_said = subscription.bounce_cause.and(subscription.reason.clone());
    let Subscription { email, status, changed_at, cool_down_until, .. } = subscription;
    view! {
        <dl class=format!("property-list subscription subscription--{}", status.as_str()) data-testid="subscription" data-status=status.as_str()>
            <div class="property">
                <dt class="property__name">{t(k::CARD_SUBSCRIPTION_TITLE)}</dt>
                <dd class="property__value">
                    <span class="subscription__status" data-testid="subscription-status">{text}</span>
                </dd>
                // The details are a second definition of the same term (a `dl` holds only groups).
                <dd class="subscription__details">
                    {email.map(|email| view! { <span class="subscription__email">{email}</span> })}
                    {server_said.map(|said| view! { <span class="subscription__reason" data-testid="bounce-reason">{said}</span> })}
                    {changed_at.map(|at| view! { <span class="subscription__changed">{t(k::CARD_SUBSCRIPTION_SINCE)} {time::local(at)}</span> })}
                    {cool_down_until.map(|at| view! { <span class="subscription__cool-down">{t(k::CARD_SUBSCRIPTION_NO_MAIL_UNTIL)} {time::local(at)}</span> })}
                </dd>
            </div>
        </dl>
    }
}
