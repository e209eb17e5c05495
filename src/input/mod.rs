//! What comes in: a pipeline record (`record`), the log line inside it
//! (`line`: layouts, times, sources), the NATS event a line states
//! (`event`) and a `/jsz` snapshot (`jsz`).

pub mod event;
pub mod jsz;
pub mod line;
pub mod record;
