//! Pure decisions. Depends on nothing else of ours: it owns its types, and
//! `config` builds them.

pub mod domain;
