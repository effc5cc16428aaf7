//! Placeholder crate: filled by a later issue (see the README layout). It exports nothing yet.
