//! The text formats the core reads and writes, below every other module:
//! JSON (a non-recursive scanner and a writer), times (nats-server's log
//! times, RFC 3339) and the state body's codec.

pub mod carry;
pub mod clock;
pub mod decimal;
pub mod json;
pub(crate) mod word;
