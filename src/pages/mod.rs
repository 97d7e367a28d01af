//! The app's pages, one per route; each places components and reads its state from the URL.

pub mod account;
pub mod inbox;
pub mod lead;
pub mod leads;
pub mod leads_export;
pub mod leads_import;
pub mod leads_selection;
pub mod login;
pub mod new_lead;
pub mod operators;
pub mod segments;
pub mod set_password;
pub mod settings;
pub mod visitors;
