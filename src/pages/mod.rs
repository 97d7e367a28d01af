//! The app's pages, one per route; each places components and reads its state from the URL.

pub mod lead;
pub mod leads;
pub mod login;
pub mod settings;
pub mod visitors;
