//! Pure decisions. Depends on nothing else of ours: it owns its types, and
//! `config` builds them.

pub mod address;
pub mod decide;
pub mod domain;
pub mod host;
