//! What resetwatch knows about the nats-server behind a source: what its
//! startup banner said, or what the configuration says in its place.

use crate::input::event::Banner;

/// A server's identity and limits, each `None` until known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerInfo {
    pub version: Option<String>,
    pub name: Option<String>,
    pub id: Option<String>,
    /// JetStream `Max Storage:` in bytes (rounded as the banner prints it).
    pub max_storage: Option<u64>,
}

impl ServerInfo {
    /// Remembers one banner line.
    pub fn learn(&mut self, b: &Banner) {
        match b {
            Banner::Version(v) => self.version = Some(v.clone()),
            Banner::Name(n) => self.name = Some(n.clone()),
            Banner::Id(i) => self.id = Some(i.clone()),
            Banner::MaxStorage(n) => self.max_storage = Some(*n),
        }
    }
}

// The saved state's shape (see `state`).
crate::text::carry::carry_struct!(ServerInfo { version, name, id, max_storage });
