//! The email subscription status, at the bottom of the card's properties: the status shared by
//! every card with this address, and why mail bounced when it did.

use leadcard_core::BounceKind;
use leadcard_core::wire::Subscription;
use leptos::prelude::*;

use crate::time;

#[component]
pub fn SubscriptionInfo(subscription: Subscription) -> impl IntoView {
    let Subscription { email, status, bounce, reason, changed_at, .. } = subscription;
    let bounce = bounce.map(|kind| match kind {
        BounceKind::Hard => "Hard bounce",
        BounceKind::Soft => "Soft bounce",
    });
    view! {
        <dl class=format!("property-list subscription subscription--{}", status.as_str())>
            <div class="property">
                <dt class="property__name">"Email subscription"</dt>
                <dd class="property__value">
                    <span class="subscription__status" data-testid="subscription-status">{status.label()}</span>
                </dd>
            </div>
            <dd class="subscription__details">
                {email.map(|email| view! { <span class="subscription__email">{email}</span> })}
                {bounce.map(|text| view! { <span class="subscription__bounce">{text}</span> })}
                {reason.map(|reason| view! { <span class="subscription__reason">{reason}</span> })}
                {changed_at.map(|t| view! { <span class="subscription__changed">"Since " {time::local(t)}</span> })}
            </dd>
        </dl>
    }
}
