//! The page's panels and dialogs, one component per file; each reads the store from context.

mod batches;
mod checkpoints;
mod code;
mod controls;
mod error_panel;
mod group;
mod header;
mod inspector;
mod job_output;
mod partitions;
mod produce;
mod rewind;
mod room;
mod settings;
mod structured;
mod tool_output;
mod walkthrough;
mod workshop;

pub use batches::Batches;
pub use checkpoints::Checkpoints;
pub use code::{Api, CodeView};
pub use controls::Controls;
pub use error_panel::ErrorPanel;
pub use group::Group;
pub use header::Header;
pub use inspector::Inspector;
pub use job_output::JobOutput;
pub use partitions::Partitions;
pub use produce::Produce;
pub use rewind::RewindDialog;
pub use room::Room;
pub use settings::SettingsDialog;
pub use structured::{SsBatches, SsCheckpoint, SsControls, SsNumbers};
pub use tool_output::ToolOutput;
pub use walkthrough::Walkthrough;
pub use workshop::{JoinForm, Pushes};

use crate::state::Store;
use yew::prelude::*;

/// The store from the app's context (every component is mounted under it).
#[hook]
pub fn use_store() -> Store {
    use_context::<Store>().expect("components are mounted under the app's ContextProvider")
}
