//! The Linux sandbox: bubblewrap with namespaces, a mount plan, and the
//! in-sandbox helper.

pub mod bwrap;
pub mod mandatory;
pub mod mountinfo;
pub mod paths;
pub mod placeholders;
pub mod plan;
pub mod private_tmp;
pub mod run_plan;
pub mod startup_places;
#[cfg(test)]
pub mod test_support;
