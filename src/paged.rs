//! One keyset-paged list for every "load more" list of the app (the card's events, the Inbox's
//! conversations and its thread, the Leads Database's results): the items loaded so far, the
//! cursor of the next page, whether a page is on its way, and the last error. A reload drops the
//! answers of the loads before it, so a late page never lands in a list it does not belong to,
//! and pages of a disposed list land nowhere.

use std::cmp::Ordering;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;

use crate::api::ApiError;

/// One page of a list: its items and the cursor of the next one (None: the last page).
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// What a list's items are told apart by: the same key is the same item, shown once.
pub trait Keyed {
    fn key(&self) -> i64;
}

type PageFuture<T> = Pin<Box<dyn Future<Output = Result<Page<T>, ApiError>>>>;
type Fetch<T> = Rc<dyn Fn(Option<String>) -> PageFuture<T>>;
type Order<T> = fn(&T, &T) -> Ordering;

pub struct Paged<T: Send + Sync + 'static> {
    pub items: RwSignal<Vec<T>>,
    pub next: RwSignal<Option<String>>,
    /// A page is on its way.
    pub loading: RwSignal<bool>,
    /// The first page has answered (with items or an error).
    pub loaded: RwSignal<bool>,
    pub error: RwSignal<Option<ApiError>>,
    fetch: StoredValue<SendWrapper<Fetch<T>>>,
    order: StoredValue<Option<Order<T>>>,
    /// Counts reloads; an answer for an earlier one is dropped.
    generation: StoredValue<u64>,
}

impl<T: Send + Sync + 'static> Clone for Paged<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Paged<T> {}

impl<T: Keyed + Send + Sync + 'static> Paged<T> {
    /// An empty list whose pages come from `fetch(cursor)` (None: the first page). Nothing is
    /// fetched until [`Paged::reload`] (or [`Paged::seed`] with a first page loaded elsewhere).
    pub fn new<F>(fetch: impl Fn(Option<String>) -> F + 'static) -> Self
    where
        F: Future<Output = Result<Page<T>, ApiError>> + 'static,
    {
        let fetch: Fetch<T> = Rc::new(move |cursor| Box::pin(fetch(cursor)));
        Self {
            items: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            loading: RwSignal::new(false),
            loaded: RwSignal::new(false),
            error: RwSignal::new(None),
            fetch: StoredValue::new(SendWrapper::new(fetch)),
            order: StoredValue::new(None),
            generation: StoredValue::new(0),
        }
    }

    /// Keeps the items in this order (else in the order the pages bring them).
    pub fn sorted_by(self, order: Order<T>) -> Self {
        self.order.set_value(Some(order));
        self
    }

    /// Starts from a first page already loaded.
    pub fn seed(self, page: Page<T>) -> Self {
        self.items.set(page.items);
        self.next.set(page.next);
        self.loaded.set(true);
        self
    }

    fn request(self, cursor: Option<String>) -> Option<PageFuture<T>> {
        self.fetch.try_with_value(|fetch| fetch(cursor))
    }

    fn is_current(self, generation: u64) -> bool {
        self.generation.try_get_value() == Some(generation)
    }

    /// Loads the first page again, replacing what is shown.
    pub fn reload(self) {
        spawn_local(async move {
            self.load_first().await;
        });
    }

    /// [`Paged::reload`], answering whether the page landed (it was not replaced meanwhile).
    pub async fn load_first(self) -> bool {
        self.generation.update_value(|g| *g += 1);
        let generation = self.generation.get_value();
        self.loading.set(true);
        let Some(request) = self.request(None) else { return false };
        let answer = request.await;
        if !self.is_current(generation) {
            return false;
        }
        match answer {
            Ok(page) => {
                let mut items = page.items;
                self.sort(&mut items);
                self.items.set(items);
                self.next.set(page.next);
                self.error.set(None);
            }
            Err(error) => self.error.set(Some(error)),
        }
        self.loading.set(false);
        self.loaded.set(true);
        true
    }

    /// Loads the next page, unless there is none or one is on its way.
    pub fn load_more(self) {
        spawn_local(async move {
            self.fetch_more().await;
        });
    }

    /// [`Paged::load_more`], answering whether a page landed.
    pub async fn fetch_more(self) -> bool {
        let Some(Some(after)) = self.next.try_get_untracked() else { return false };
        if self.loading.get_untracked() {
            return false;
        }
        let generation = self.generation.get_value();
        self.loading.set(true);
        self.error.set(None);
        let Some(request) = self.request(Some(after)) else { return false };
        let answer = request.await;
        if !self.is_current(generation) {
            return false;
        }
        self.loading.set(false);
        match answer {
            Ok(page) => {
                self.merge(page.items);
                self.next.set(page.next);
                true
            }
            Err(error) => {
                self.error.set(Some(error));
                false
            }
        }
    }

    /// Fetches the first page again and merges it into what is shown (items changed or came
    /// meanwhile), keeping the pages loaded below it.
    pub fn refresh(self) {
        let generation = self.generation.get_value();
        let Some(request) = self.request(None) else { return };
        spawn_local(async move {
            if let Ok(page) = request.await
                && self.is_current(generation)
            {
                self.merge(page.items);
            }
        });
    }

    /// Shows `new` items: each replaces the item with its key, or joins the list.
    pub fn merge(self, new: Vec<T>) {
        self.items.update(|items| {
            for item in new {
                match items.iter_mut().find(|known| known.key() == item.key()) {
                    Some(known) => *known = item,
                    None => items.push(item),
                }
            }
            self.sort(items);
        });
    }

    fn sort(self, items: &mut [T]) {
        if let Some(Some(order)) = self.order.try_get_value() {
            items.sort_by(order);
        }
    }
}

impl Keyed for leadcard_core::tracking::LeadEvent {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for leadcard_core::inbox::Conversation {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for leadcard_core::inbox::Message {
    fn key(&self) -> i64 {
        self.id
    }
}

impl Keyed for leadcard_core::wire::LeadSummary {
    fn key(&self) -> i64 {
        self.id
    }
}
