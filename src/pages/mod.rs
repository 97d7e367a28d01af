//! The app's pages, one per route; each places components and reads its state from the URL.

pub mod inbox;
pub mod lead;
pub mod leads;
pub mod login;
pub mod segments;
pub mod settings;
pub mod visitors;
