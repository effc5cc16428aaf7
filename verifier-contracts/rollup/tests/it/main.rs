//! Rollup contract tests in revm: the whole lifecycle with real zkr batches, and every refusal.

mod escape;
mod exit;
mod gas;
mod governance;
mod harness;
mod lifecycle;
mod priority;
