//! Deciding: the reset-loop state machine per source and stream
//! (`detector`), what is known of each server (`server`), the storage
//! judgement over `/jsz` snapshots (`storage`) and the bounded map they
//! keep everything in (`lru`).

pub(crate) mod lru;
pub mod server;
pub mod storage;
pub mod tracker;
