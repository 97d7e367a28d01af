//! Operators' notes on the lead: newest first with author and time, added as multi-line text and
//! always shown as text, deleted only by their author.

use leadcard_core::LiveEvent;
use leadcard_core::tag::parse_note;
use leadcard_core::wire::{NewNote, Note};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::editor::InlineError;
use crate::api::{self, ApiError};
use crate::components::error_notice::ErrorNotice;
use crate::live::Live;
use crate::time;

/// `notes` as loaded with the card (an error shows in place of the list; adding still works);
/// `me` is the signed-in operator's id, who may delete their own notes.
#[component]
pub fn CardNotes(lead: i64, notes: Result<Vec<Note>, ApiError>, me: Option<i64>) -> impl IntoView {
    let (loaded, load_error) = match notes {
        Ok(notes) => (notes, None),
        Err(error) => (Vec::new(), Some(error)),
    };
    let notes = RwSignal::new(loaded);
    let draft = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let save = Action::new_local(move |(typed, body): &(String, String)| {
        let (typed, body) = (typed.clone(), body.clone());
        async move {
            match api::add_note(lead, &NewNote { body }).await {
                Ok(note) => {
                    notes.update(|notes| notes.insert(0, note));
                    // What the operator typed meanwhile stays.
                    draft.update(|draft| {
                        if *draft == typed {
                            draft.clear();
                        }
                    });
                    problem.set(None);
                }
                Err(error) => problem.set(Some(error.message)),
            }
        }
    });
    let saving = save.pending();
    let add = move || {
        let typed = draft.get_untracked();
        match parse_note(&typed) {
            Ok(body) => {
                save.dispatch((typed, body));
            }
            Err(reason) => problem.set(Some(format!("A note {reason}."))),
        }
    };
    // Notes added or deleted elsewhere (another operator, another tab) show up here.
    if let Some(live) = Live::use_live() {
        let reload = move || {
            spawn_local(async move {
                if let Ok(fresh) = api::notes(lead).await {
                    notes.set(fresh);
                }
            })
        };
        live.on_message(move |event| {
            if matches!(event, LiveEvent::LeadChanged { lead_id } if *lead_id == lead) {
                reload();
            }
        });
        live.on_reset(reload);
    }
    let remove = Action::new_local(move |&id: &i64| async move {
        match api::delete_note(lead, id).await {
            Ok(()) => notes.update(|notes| notes.retain(|note| note.id != id)),
            Err(error) => problem.set(Some(error.message)),
        }
    });
    let delete = Callback::new(move |id: i64| {
        remove.dispatch(id);
    });

    view! {
        <div class="notes" data-testid="notes">
            <form
                class="notes__form"
                on:submit=move |ev| {
                    ev.prevent_default();
                    add();
                }
            >
                <textarea
                    class="input notes__input"
                    data-testid="note-input"
                    rows="3"
                    placeholder="Write a note for your team (Ctrl+Enter adds it)"
                    aria-label="New note"
                    prop:value=draft
                    on:input=move |ev| {
                        draft.set(event_target_value(&ev));
                        problem.set(None);
                    }
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                            ev.prevent_default();
                            add();
                        }
                    }
                ></textarea>
                <button type="submit" class="button button--primary notes__add" data-testid="note-add" disabled=saving>
                    "Add note"
                </button>
            </form>
            <InlineError message=problem/>
            {load_error.map(|error| view! { <ErrorNotice error/> })}
            <Show when=move || notes.with(|notes| !notes.is_empty())>
                <ul class="notes__list">
                    {move || {
                        notes
                            .get()
                            .into_iter()
                            .map(|note| view! { <NoteItem own=me == Some(note.author_id) note on_delete=delete/> })
                            .collect_view()
                    }}
                </ul>
            </Show>
        </div>
    }
}

#[component]
fn NoteItem(note: Note, own: bool, on_delete: Callback<i64>) -> impl IntoView {
    let Note { id, body, author_name, created_at, .. } = note;
    view! {
        <li class="note" data-testid="note">
            <div class="note__meta">
                <span class="note__author">{author_name}</span>
                <time class="note__time" datetime=created_at.to_rfc3339()>{time::local(created_at)}</time>
                {own.then(|| view! {
                    <button
                        type="button"
                        class="button button--ghost note__delete"
                        data-testid="note-delete"
                        on:click=move |_| on_delete.run(id)
                    >
                        "Delete"
                    </button>
                })}
            </div>
            <p class="note__body">{body}</p>
        </li>
    }
}
