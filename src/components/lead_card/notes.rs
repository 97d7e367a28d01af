//! Operators' notes on the lead: newest first with author and time, added as multi-line text and
//! always shown as text, edited (then marked "edited", with when) and deleted only by their author.

use leadcard_core::LiveEvent;
use leadcard_core::tag::parse_note;
use leadcard_core::wire::{NewNote, Note};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::editor::InlineError;
use crate::api::{self, ApiError};
use crate::browser::i18n::{k, say, t, tf};
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
            Err(reason) => problem.set(Some(say(&reason.note_message()))),
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
    let edited = Callback::new(move |note: Note| {
        notes.update(|notes| {
            if let Some(shown) = notes.iter_mut().find(|shown| shown.id == note.id) {
                *shown = note;
            }
        })
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
                    placeholder=t(k::CARD_NOTES_PLACEHOLDER)
                    aria-label=t(k::CARD_NOTES_NEW)
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
                    {t(k::CARD_NOTES_ADD)}
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
                            .map(|note| {
                                view! {
                                    <NoteItem lead own=me == Some(note.author_id) note on_delete=delete on_edited=edited/>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </Show>
        </div>
    }
}

/// One note; its author gets Edit (the body in place, checked as a new note is) and Delete.
#[component]
fn NoteItem(lead: i64, note: Note, own: bool, on_delete: Callback<i64>, on_edited: Callback<Note>) -> impl IntoView {
    let Note { id, body, author_name, created_at, edited_at, .. } = note;
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(body.clone());
    let problem = RwSignal::new(None::<String>);
    let save = Action::new_local(move |body: &String| {
        let body = body.clone();
        async move {
            match api::edit_note(lead, id, &NewNote { body }).await {
                Ok(note) => {
                    editing.set(false);
                    on_edited.run(note);
                }
                Err(error) => problem.set(Some(error.message)),
            }
        }
    });
    let saving = save.pending();
    let submit = move || match parse_note(&draft.get_untracked()) {
        Ok(body) => {
            save.dispatch(body);
        }
        Err(reason) => problem.set(Some(say(&reason.note_message()))),
    };
    let shown_body = body.clone();
    view! {
        <li class="note" data-testid="note">
            <div class="note__meta">
                <span class="note__author">{author_name}</span>
                <time class="note__time" datetime=created_at.to_rfc3339()>{time::local(created_at)}</time>
                {edited_at.map(|at| {
                    view! {
                        <span class="note__edited" data-testid="note-edited" title=tf(k::CARD_NOTES_EDITED_AT, &[("when", &time::local(at))])>
                            {t(k::CARD_NOTES_EDITED)} <time datetime=at.to_rfc3339()>{time::local(at)}</time>
                        </span>
                    }
                })}
                {own.then(|| view! {
                    <span class="note__actions">
                        <button
                            type="button"
                            class="button button--ghost note__action"
                            data-testid="note-edit"
                            on:click=move |_| {
                                draft.set(body.clone());
                                problem.set(None);
                                editing.set(true);
                            }
                        >
                            {t(k::COMMON_EDIT)}
                        </button>
                        <button
                            type="button"
                            class="button button--ghost note__action"
                            data-testid="note-delete"
                            on:click=move |_| on_delete.run(id)
                        >
                            {t(k::COMMON_DELETE)}
                        </button>
                    </span>
                })}
            </div>
            <Show when=move || editing.get() fallback=move || view! { <p class="note__body">{shown_body.clone()}</p> }>
                <form
                    class="notes__form"
                    data-testid="note-editor"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        submit();
                    }
                >
                    <textarea
                        class="input notes__input"
                        data-testid="note-edit-input"
                        rows="3"
                        aria-label=t(k::CARD_NOTES_EDIT_LABEL)
                        prop:value=draft
                        on:input=move |ev| {
                            draft.set(event_target_value(&ev));
                            problem.set(None);
                        }
                        on:keydown=move |ev| {
                            if ev.key() == "Escape" {
                                editing.set(false);
                            } else if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                                ev.prevent_default();
                                submit();
                            }
                        }
                    ></textarea>
                    <div class="editor__actions">
                        <button type="submit" class="button button--primary" data-testid="note-save" disabled=saving>
                            {t(k::COMMON_SAVE)}
                        </button>
                        <button type="button" class="button button--ghost" on:click=move |_| editing.set(false)>
                            {t(k::COMMON_CANCEL)}
                        </button>
                    </div>
                    <InlineError message=problem testid="note-edit-error"/>
                </form>
            </Show>
        </li>
    }
}
