//! The loopback receiver the real-host tests point HTTP outputs at.

use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A loopback HTTP receiver (Vector's `http` sink, Fluent Bit's `http`
/// output to an Alertmanager peer): every body it was posted, answered 200.
pub struct AlertReceiver {
    server: Arc<tiny_http::Server>,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl AlertReceiver {
    pub fn start() -> AlertReceiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (srv, got) = (server.clone(), bodies.clone());
        std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
                got.lock().unwrap().push(body);
                let _ = req.respond(tiny_http::Response::empty(200));
            }
        });
        AlertReceiver { server, bodies }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.server_addr().to_ip().unwrap().port())
    }

    /// The alerts posted so far: Vector's `http` sink with the `json` codec
    /// and Fluent Bit's `http` output with `Format json` post a batch as one
    /// JSON array.
    pub fn alerts(&self) -> Vec<Value> {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .flat_map(|b| match serde_json::from_str::<Value>(b) {
                Ok(Value::Array(items)) => items,
                other => panic!("posted {other:?}: {b}"),
            })
            .collect()
    }
}

impl Drop for AlertReceiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
