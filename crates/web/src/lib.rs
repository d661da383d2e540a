//! Offset Lab's page: the session (engine + in-memory Kafka), share links and derived views are
//! plain Rust (tested natively); the Yew app over them is built for the browser only.

pub mod bridge_socket;
pub mod bridge_storage;
pub mod codegen;
pub mod explain;
pub mod inspect;
pub mod kafka;
pub mod lessons;
pub mod link;
pub mod live;
pub mod session;
pub mod ss;
pub mod state;
#[cfg(test)]
mod test_bridge;
pub mod views;
pub mod walkthrough;
pub mod workshop;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod components;

#[cfg(target_arch = "wasm32")]
pub use app::App;
