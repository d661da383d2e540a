//! The one error type: which layer broke, at which byte, and why — never a panic.

use std::fmt;

/// The decoding layer an error comes from; offsets are relative to that layer's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Layer {
    /// The compression framing (offsets into the file as stored).
    Codec(&'static str),
    /// The Java Object Serialization stream (offsets into the decompressed bytes).
    JavaSerialization,
    /// The Spark view of the parsed object graph (no byte offset).
    Spark,
    /// A limit from [`crate::Limits`] was reached.
    Limit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub layer: Layer,
    pub offset: Option<u64>,
    pub message: String,
}

impl Error {
    pub fn codec(codec: &'static str, offset: usize, message: impl Into<String>) -> Self {
        Error { layer: Layer::Codec(codec), offset: Some(offset as u64), message: message.into() }
    }
    pub fn java(offset: usize, message: impl Into<String>) -> Self {
        Error { layer: Layer::JavaSerialization, offset: Some(offset as u64), message: message.into() }
    }
    pub fn spark(message: impl Into<String>) -> Self {
        Error { layer: Layer::Spark, offset: None, message: message.into() }
    }
    pub fn limit(offset: Option<usize>, message: impl Into<String>) -> Self {
        Error { layer: Layer::Limit, offset: offset.map(|o| o as u64), message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (layer, unit) = match self.layer {
            Layer::Codec(name) => (name, "file byte"),
            Layer::JavaSerialization => ("java serialization", "decompressed byte"),
            Layer::Spark => ("spark checkpoint", ""),
            Layer::Limit => ("limit", "byte"),
        };
        match self.offset {
            Some(at) => write!(f, "{layer}: at {unit} {at}: {}", self.message),
            None => write!(f, "{layer}: {}", self.message),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
