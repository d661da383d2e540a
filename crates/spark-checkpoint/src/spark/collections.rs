//! The serialized forms of Scala 2.12/2.13 and Java collections (spec §2.6), turned back into lists and pairs.

use super::view::View;
use crate::jser::Value;

/// Wrappers nest (Unmodifiable → ArrayList); a crafted self-referencing wrapper must not recurse forever.
const MAX_WRAPPING: usize = 8;

/// The elements of a sequence/set/queue/array, or `None` if `v` is not a collection form known here.
pub fn seq(view: &View, v: &Value) -> Option<Vec<Value>> {
    seq_in(view, v, 0)
}

fn seq_in(view: &View, v: &Value, depth: usize) -> Option<Vec<Value>> {
    if depth > MAX_WRAPPING {
        return None;
    }
    if let Some(items) = view.array(v) {
        return Some(items);
    }
    if let Some(m) = view.module(v) {
        // Empty Scala collections are modules: Nil$, List$ (via a factory), Set$EmptySet$, ...
        return matches!(m, "scala.collection.immutable.Nil$" | "scala.collection.immutable.Set$EmptySet$").then(Vec::new);
    }
    let class = view.class(v)?;
    let prefix_field = |field: &str, len_field: Option<&str>| -> Option<Vec<Value>> {
        let mut items = seq_in(view, &view.field(v, field)?, depth + 1)?;
        if let Some(n) = len_field.and_then(|f| view.field(v, f)).and_then(|n| view.long(&n)) {
            items.truncate(usize::try_from(n).unwrap_or(0));
        }
        Some(items)
    };
    match class {
        // Scala 2.13: `writeReplace` proxy; annotation = int count (or -1) + elements (+ SerializeEnd$).
        "scala.collection.generic.DefaultSerializationProxy" => Some(strip_end(view, view.annotation_values(v))),
        // Scala 2.12 List: elements then ListSerializeEnd$.
        "scala.collection.immutable.List$SerializationProxy" => Some(strip_end(view, view.annotation_values(v))),
        "scala.collection.mutable.ArraySeq" => prefix_field("array", Some("length")),
        "scala.collection.mutable.ArrayBuffer" => prefix_field("array", Some("size0")),
        "scala.collection.immutable.ArraySeq$ofRef" => prefix_field("unsafeArray", None),
        c if c.starts_with("scala.collection.mutable.ArraySeq$")
            || c.starts_with("scala.collection.immutable.ArraySeq$")
            || c.starts_with("scala.collection.mutable.WrappedArray$") =>
        {
            prefix_field("array", None).or_else(|| prefix_field("unsafeArray", None))
        }
        c if c.starts_with("scala.collection.immutable.Set$Set") => {
            let n: usize = c.trim_start_matches("scala.collection.immutable.Set$Set").parse().ok()?;
            (1..=n).map(|i| view.s.field_suffix(v, &format!("elem{i}"))).collect()
        }
        "java.util.ArrayList"
        | "java.util.LinkedList"
        | "java.util.HashSet"
        | "java.util.LinkedHashSet"
        | "java.util.ArrayDeque"
        | "java.util.concurrent.CopyOnWriteArrayList" => Some(view.annotation_values(v)),
        // Its writeObject ends the element list with a null.
        "java.util.concurrent.ConcurrentLinkedQueue" | "java.util.concurrent.ConcurrentLinkedDeque" => {
            let mut items = view.annotation_values(v);
            if items.last() == Some(&Value::Null) {
                items.pop();
            }
            Some(items)
        }
        "java.util.Arrays$ArrayList" => prefix_field("a", None),
        "java.util.Vector" => prefix_field("elementData", Some("elementCount")),
        "java.util.Collections$SingletonList" | "java.util.Collections$SingletonSet" => Some(vec![view.field(v, "element")?]),
        "java.util.Collections$EmptyList" | "java.util.Collections$EmptySet" => Some(Vec::new()),
        c if c.starts_with("java.util.Collections$Unmodifiable") || c.starts_with("java.util.Collections$Synchronized") => {
            prefix_field("c", None)
        }
        _ => None,
    }
}

/// Drops the end-of-elements module Scala writes when it did not know the size up front.
fn strip_end(view: &View, mut items: Vec<Value>) -> Vec<Value> {
    if let Some(last) = items.last() {
        let end = view.module(last).or_else(|| view.class(last));
        if matches!(end, Some("scala.collection.generic.SerializeEnd$" | "scala.collection.immutable.ListSerializeEnd$")) {
            items.pop();
        }
    }
    items
}

/// Key/value pairs of a map form, in stream order, or `None` if `v` is not a map form known here.
pub fn map(view: &View, v: &Value) -> Option<Vec<(Value, Value)>> {
    map_in(view, v, 0)
}

fn map_in(view: &View, v: &Value, depth: usize) -> Option<Vec<(Value, Value)>> {
    if depth > MAX_WRAPPING {
        return None;
    }
    if let Some(m) = view.module(v) {
        return matches!(m, "scala.collection.immutable.Map$EmptyMap$" | "scala.collection.immutable.HashMap$EmptyHashMap$").then(Vec::new);
    }
    let class = view.class(v)?;
    match class {
        "java.util.HashMap"
        | "java.util.LinkedHashMap"
        | "java.util.Hashtable"
        | "java.util.Properties"
        | "java.util.TreeMap"
        | "java.util.IdentityHashMap"
        | "java.util.concurrent.ConcurrentHashMap"
        | "scala.collection.immutable.HashMap$SerializationProxy"
        | "scala.collection.mutable.HashMap"
        | "scala.collection.mutable.LinkedHashMap" => {
            let mut items = view.annotation_values(v);
            // ConcurrentHashMap ends its pairs with (null, null).
            if class == "java.util.concurrent.ConcurrentHashMap" && items.ends_with(&[Value::Null, Value::Null]) {
                items.truncate(items.len() - 2);
            }
            pairs(items)
        }
        "java.util.Collections$EmptyMap" => Some(Vec::new()),
        "java.util.Collections$SingletonMap" => Some(vec![(view.field(v, "k")?, view.field(v, "v")?)]),
        c if c.starts_with("java.util.Collections$Unmodifiable") || c.starts_with("java.util.Collections$Synchronized") => {
            map_in(view, &view.field(v, "m")?, depth + 1)
        }
        c if c.starts_with("scala.collection.immutable.Map$Map") => {
            let n: usize = c.trim_start_matches("scala.collection.immutable.Map$Map").parse().ok()?;
            (1..=n).map(|i| Some((view.s.field_suffix(v, &format!("key{i}"))?, view.s.field_suffix(v, &format!("value{i}"))?))).collect()
        }
        // Scala 2.13 maps are a DefaultSerializationProxy of Tuple2 elements, built by a map factory
        // (`MapFactory$ToFactory`, `mutable.HashMap$DeserializationFactory`, ...).
        "scala.collection.generic.DefaultSerializationProxy"
            if view.field(v, "factory").and_then(|f| view.class(&f)).is_some_and(|c| c.contains("Map")) =>
        {
            seq_in(view, v, depth + 1)?
                .iter()
                .map(|t| match view.tuple(t)?.as_slice() {
                    [k, x] => Some((*k, *x)),
                    _ => None,
                })
                .collect()
        }
        _ => None,
    }
}

fn pairs(items: Vec<Value>) -> Option<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        return None;
    }
    Some(items.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}
