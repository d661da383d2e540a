//! A general, bounded parser for the Java Object Serialization stream (spec chapter 6) into a handle arena.

pub mod constants;
mod model;
mod mutf8;
mod parser;
mod reader;
pub mod tree;

pub use model::{Array, ArrayData, ClassData, ClassDesc, Content, Entry, FieldDesc, Handle, Object, Stream, Value};
pub use parser::parse;
