//! Events delivered to registered callbacks (the live stream's messages, the pending sends'
//! confirmations): a component registers a callback and it is called with each event from then on,
//! until the component is gone. No signal holds "the latest event" for listeners to diff.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::thread::LocalKey;

use leptos::prelude::on_cleanup;

type Callback<E> = Rc<dyn Fn(&E)>;

/// The callbacks waiting for one kind of event, each with the id it was registered under.
pub struct Listeners<E: 'static> {
    next_id: Cell<u64>,
    callbacks: RefCell<Vec<(u64, Callback<E>)>>,
}

impl<E: 'static> Listeners<E> {
    pub const fn new() -> Self {
        Self { next_id: Cell::new(0), callbacks: RefCell::new(Vec::new()) }
    }

    /// Calls every callback with `event`. A callback may register or drop callbacks meanwhile
    /// (a reload that replaces a component): those take effect from the next event.
    pub fn emit(&self, event: &E) {
        let callbacks: Vec<Callback<E>> = self.callbacks.borrow().iter().map(|(_, f)| f.clone()).collect();
        for callback in callbacks {
            callback(event);
        }
    }
}

impl<E: 'static> Default for Listeners<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// Registers `f` with the listeners in `key`, for as long as the calling component (the current
/// reactive owner) lives.
pub fn listen<E: 'static>(key: &'static LocalKey<Listeners<E>>, f: impl Fn(&E) + 'static) {
    let id = key.with(|listeners| {
        let id = listeners.next_id.get();
        listeners.next_id.set(id + 1);
        listeners.callbacks.borrow_mut().push((id, Rc::new(f)));
        id
    });
    on_cleanup(move || key.with(|listeners| listeners.callbacks.borrow_mut().retain(|(known, _)| *known != id)));
}
