//! The card's tags.

use leptos::prelude::*;

use crate::components::tag_list::TagList;

#[component]
pub fn CardTags(tags: Vec<String>) -> impl IntoView {
    view! {
        <div class="lead-card__tags" data-testid="lead-tags">
            {if tags.is_empty() {
                view! { <p class="lead-card__empty">"No tags"</p> }.into_any()
            } else {
                view! { <TagList tags/> }.into_any()
            }}
        </div>
    }
}
