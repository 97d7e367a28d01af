//! The card's tags: remove one, or add one with suggestions from the tags in use; the core rule
//! for a tag is checked before asking the server.

use leadcard_core::tag::parse_tag;
use leadcard_core::wire::NewTag;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::editor::InlineError;
use super::state::CardState;
use crate::api::{self, TagsChanged};
use crate::browser::i18n::{k, say, t, tf};

#[derive(Clone)]
enum TagChange {
    Add(String),
    Remove(String),
}

#[component]
pub fn CardTags() -> impl IntoView {
    let state = CardState::expect();
    let lead = state.lead_id();
    let tags = Memo::new(move |_| state.card.with(|card| card.tags.clone()));
    let draft = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    // The tags in use, asked for when the operator first goes to the input.
    let suggestions = RwSignal::new(None::<Vec<String>>);
    let list_id = format!("lead-card-{lead}-tags");

    let change = Action::new_local(move |change: &TagChange| {
        let change = change.clone();
        let typed = draft.get_untracked();
        async move {
            let added = matches!(change, TagChange::Add(_));
            let result = match change {
                TagChange::Add(tag) => api::add_tag(lead, &NewTag { tag }).await,
                TagChange::Remove(tag) => api::remove_tag(lead, &tag).await,
            };
            match result {
                Ok(TagsChanged { tags, version }) => {
                    state.card.update(|card| {
                        card.tags = tags;
                        // Only when nothing else changed the card meanwhile may it take the new
                        // version; otherwise its next write must meet the other change (412).
                        if version == Some(card.version + 1) {
                            card.version += 1;
                        }
                    });
                    problem.set(None);
                    // What the operator typed meanwhile stays.
                    if added {
                        draft.update(|draft| {
                            if *draft == typed {
                                draft.clear();
                            }
                        });
                    }
                }
                Err(error) => problem.set(Some(error.message)),
            }
        }
    });
    let busy = change.pending();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match parse_tag(&draft.get_untracked()) {
            Ok(tag) => {
                change.dispatch(TagChange::Add(tag));
            }
            Err(reason) => problem.set(Some(say(&reason.tag_message()))),
        }
    };
    let load_suggestions = move |_| {
        if suggestions.with_untracked(Option::is_some) {
            return;
        }
        suggestions.set(Some(Vec::new()));
        spawn_local(async move {
            if let Ok(in_use) = api::tags().await {
                suggestions.set(Some(in_use.into_iter().map(|info| info.tag).collect()));
            }
        });
    };
    let options = move || {
        suggestions.with(|known| {
            known
                .iter()
                .flatten()
                .filter(|tag| tags.with(|tags| !tags.contains(tag)))
                .map(|tag| view! { <option value=tag.clone()></option> })
                .collect_view()
        })
    };

    view! {
        <div class="lead-card__tags" data-testid="lead-tags">
            <ul class="tag-list tag-list--editable">
                {move || {
                    tags.get()
                        .into_iter()
                        .map(|tag| {
                            let label = tf(k::CARD_TAGS_REMOVE_NAMED, &[("tag", &tag)]);
                            view! {
                                <li class="tag" data-testid="tag">
                                    <span class="tag__text">{tag.clone()}</span>
                                    <button
                                        type="button"
                                        class="tag__remove"
                                        data-testid="tag-remove"
                                        aria-label=label
                                        title=t(k::CARD_TAGS_REMOVE)
                                        disabled=busy
                                        on:click=move |_| {
                                            change.dispatch(TagChange::Remove(tag.clone()));
                                        }
                                    ></button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <form class="tag-form" on:submit=add>
                <input
                    class="input tag-form__input"
                    data-testid="tag-input"
                    list=list_id.clone()
                    autocomplete="off"
                    placeholder=t(k::CARD_TAGS_ADD_PLACEHOLDER)
                    aria-label=t(k::CARD_TAGS_ADD_PLACEHOLDER)
                    prop:value=draft
                    on:focus=load_suggestions
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        problem.set(None);
                    }
                />
                <datalist id=list_id>{options}</datalist>
                <button type="submit" class="button button--secondary" disabled=busy>{t(k::COMMON_ADD)}</button>
            </form>
            <InlineError message=problem testid="tag-error"/>
        </div>
    }
}
