//! The card's shared state — the card as the server last returned it, the operator's pins, the toast
//! and a write that clashed — and the writes that change them, given to every block of the card.

use std::time::Duration;

use leadcard_core::wire::{self, Pins};
use leadcard_core::{Operation, PropertyName, PropertyValue};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ApiError, WriteError};
use crate::browser::clipboard::copy_text;

/// A short message at the bottom of the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Toast {
    Copied,
    /// The browser refused the clipboard: the text, to copy by hand.
    CopyRefused(String),
    /// A property was deleted; Undo sets it back to `value`.
    Deleted {
        name: PropertyName,
        value: PropertyValue,
    },
    Failed(String),
    /// An action went through; what it did.
    Done(String),
}

impl Toast {
    /// How long it stays on screen; None: until the operator closes it.
    fn lasts(&self) -> Option<Duration> {
        match self {
            Toast::Copied => Some(Duration::from_millis(2_500)),
            Toast::Deleted { .. } => Some(UNDO_WINDOW),
            Toast::Failed(_) => Some(Duration::from_secs(8)),
            Toast::Done(_) => Some(Duration::from_secs(4)),
            Toast::CopyRefused(_) => None,
        }
    }
}

/// How long a deleted property can be brought back from its toast.
const UNDO_WINDOW: Duration = Duration::from_secs(5);

/// A write the server refused because the property changed since the operator saw it: the value
/// now, and what the operator wanted (None: delete it), for the operator to keep one.
#[derive(Debug, Clone, PartialEq)]
pub struct Clash {
    pub name: PropertyName,
    pub current: Option<PropertyValue>,
    pub mine: Option<PropertyValue>,
}

/// How a write ended when it did not land.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteFailure {
    /// The property changed meanwhile; the card shows the conflict view.
    Clashed,
    Refused(ApiError),
}

#[derive(Clone, Copy)]
pub struct CardState {
    pub card: RwSignal<wire::LeadCard>,
    /// The signed-in operator's pinned property names; None when they could not be loaded, and
    /// then pinning is off rather than overwriting pins the card never saw.
    pub pins: RwSignal<Option<Vec<String>>>,
    /// The toast on screen, numbered so that a timer only hides the toast it was started for.
    pub toast: RwSignal<Option<(u64, Toast)>>,
    pub clash: RwSignal<Option<Clash>>,
    /// The lead was removed completely while the card was open.
    pub removed: RwSignal<bool>,
    /// The lead was merged into this lead while the card was open.
    pub merged_into: RwSignal<Option<i64>>,
    toasts_shown: StoredValue<u64>,
    /// Writes the pins (after, before): before comes back if the server refuses.
    pin_write: Action<(Vec<String>, Vec<String>), ()>,
}

impl CardState {
    /// Makes the state of `card` available to every block below.
    pub fn provide(card: wire::LeadCard, pins: Option<Vec<String>>) -> Self {
        let pins = RwSignal::new(pins);
        let toast = RwSignal::new(None);
        let toasts_shown = StoredValue::new(0);
        let state = Self {
            card: RwSignal::new(card),
            pins,
            toast,
            clash: RwSignal::new(None),
            removed: RwSignal::new(false),
            merged_into: RwSignal::new(None),
            toasts_shown,
            pin_write: Action::new_local(move |(after, before): &(Vec<String>, Vec<String>)| {
                let (after, before) = (after.clone(), before.clone());
                async move {
                    match api::set_pins(&Pins { names: after }).await {
                        Ok(stored) => pins.set(Some(stored.names)),
                        Err(error) => {
                            pins.set(Some(before));
                            Self::show_in(toast, toasts_shown, Toast::Failed(error.message));
                        }
                    }
                }
            }),
        };
        provide_context(state);
        state
    }

    pub fn expect() -> Self {
        expect_context()
    }

    pub fn lead_id(self) -> i64 {
        self.card.with_untracked(|card| card.id)
    }

    pub fn show(self, toast: Toast) {
        Self::show_in(self.toast, self.toasts_shown, toast);
    }

    fn show_in(shown: RwSignal<Option<(u64, Toast)>>, toasts_shown: StoredValue<u64>, toast: Toast) {
        toasts_shown.update_value(|n| *n += 1);
        let number = toasts_shown.get_value();
        let lasts = toast.lasts();
        shown.set(Some((number, toast)));
        if let Some(lasts) = lasts {
            let toast = shown;
            set_timeout(
                move || {
                    if toast.try_with_untracked(|t| t.as_ref().is_some_and(|(shown, _)| *shown == number)) == Some(true)
                    {
                        toast.set(None);
                    }
                },
                lasts,
            );
        }
    }

    pub fn hide_toast(self) {
        self.toast.set(None);
    }

    /// Copies `text` and says so, or shows it to copy by hand when the browser refuses.
    pub fn copy(self, text: String) {
        spawn_local(async move {
            if copy_text(&text).await {
                self.show(Toast::Copied);
            } else {
                self.show(Toast::CopyRefused(text));
            }
        });
    }

    /// Sets property `name` to `value` (None deletes it), based on `base`, the value the operator
    /// saw. The write carries the card's version; the card then shows what the server returns.
    /// When the card changed meanwhile but this property still holds `base`, nothing of the other
    /// edit is lost by writing again on the fresh version, so the write goes again by itself;
    /// when the property itself changed, the conflict view asks the operator.
    pub async fn write(
        self,
        name: PropertyName,
        value: Option<PropertyValue>,
        base: Option<PropertyValue>,
    ) -> Result<(), WriteFailure> {
        let (id, mut version, shown) =
            self.card.with_untracked(|card| (card.id, card.version, card.property(name.as_str()).cloned()));
        // The card may have been reloaded (a live update) while the operator edited: when the
        // property itself changed since they saw it, they choose, as after a refused write.
        if shown != base {
            self.clash.set(Some(Clash { name, current: shown, mine: value }));
            return Err(WriteFailure::Clashed);
        }
        let operation = match value.clone() {
            Some(value) => Operation::Set { name: name.clone(), value },
            None => Operation::Delete { name: name.clone() },
        };
        loop {
            match api::patch_properties(id, version, vec![operation.clone()]).await {
                Ok(card) => {
                    self.card.set(card);
                    return Ok(());
                }
                Err(WriteError::Conflict(current)) => {
                    let now = current.property(name.as_str()).cloned();
                    let progressed = current.version > version;
                    version = current.version;
                    self.card.set(*current);
                    if now != base || !progressed {
                        self.clash.set(Some(Clash { name, current: now, mine: value }));
                        return Err(WriteFailure::Clashed);
                    }
                }
                Err(WriteError::Refused(error)) => return Err(WriteFailure::Refused(error)),
            }
        }
    }

    /// Applies an operation that commutes (increase, add or remove an item) to whatever the lead
    /// holds now, and shows the card the server returns.
    pub async fn apply(self, operation: Operation) -> Result<(), ApiError> {
        debug_assert!(operation.commutes());
        let card = api::apply_operations(self.lead_id(), vec![operation]).await?;
        let newer = self.card.try_with_untracked(|shown| card.version >= shown.version);
        if newer == Some(true) {
            self.card.set(card);
        }
        Ok(())
    }

    /// Loads the card again (it changed elsewhere) and shows it, unless a newer one is shown.
    pub fn reload(self) {
        let id = self.lead_id();
        spawn_local(async move {
            match api::lead(id).await {
                Ok(card) => {
                    let newer = self.card.try_with_untracked(|shown| card.version >= shown.version && card != *shown);
                    if newer == Some(true) {
                        self.card.set(card);
                    }
                }
                Err(error) if error.is_not_found() => {
                    self.removed.set(true);
                }
                // The card stays as it is; the next change or reconnect loads it again.
                Err(_) => {}
            }
        });
    }

    pub fn is_pinned(self, name: &str) -> bool {
        self.pins.with(|pins| pins.as_ref().is_some_and(|pins| pins.iter().any(|pin| pin == name)))
    }

    /// Pins `name` at the end, or unpins it; shown at once, put back if the server refuses.
    pub fn toggle_pin(self, name: String) {
        let Some(before) = self.pins.get_untracked() else { return };
        let mut after = before.clone();
        match after.iter().position(|pin| *pin == name) {
            Some(place) => {
                after.remove(place);
            }
            None => after.push(name),
        }
        self.pins.set(Some(after.clone()));
        self.pin_write.dispatch((after, before));
    }
}
