//! The parsed stream: an arena of entries addressed by handle, so shared references and cycles cost nothing.

/// Index into [`Stream::entries`] (not the wire handle, which `TC_RESET` reuses).
pub type Handle = usize;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Byte(i8),
    Char(u16),
    Short(i16),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    Ref(Handle),
}

/// One item of an object annotation, external data or the top level: objects and block data interleave.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Value(Value),
    Block(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDesc {
    /// `B C D F I J S Z` for primitives, `L` or `[` for objects.
    pub type_code: u8,
    pub name: String,
    /// The JVM type signature of object fields, e.g. `Ljava/lang/String;`.
    pub class_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassDesc {
    pub name: String,
    pub suid: i64,
    pub flags: u8,
    pub fields: Vec<FieldDesc>,
    pub annotation: Vec<Content>,
    pub super_desc: Option<Handle>,
    /// Interface names when this came from `TC_PROXYCLASSDESC`.
    pub proxy_interfaces: Option<Vec<String>>,
}

/// The slot one class of an object's hierarchy wrote (field names repeat across the hierarchy).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassData {
    pub desc: Handle,
    /// In the descriptor's field order.
    pub values: Vec<Value>,
    /// `writeObject` extra data (`SC_WRITE_METHOD`) or the external contents (`SC_EXTERNALIZABLE`).
    pub annotation: Option<Vec<Content>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub desc: Handle,
    /// Superclass first, as the stream orders them.
    pub class_data: Vec<ClassData>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    Bytes(Vec<u8>),
    Values(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub desc: Handle,
    pub data: ArrayData,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// Assigned a handle but still being read (only seen by a back-reference into itself).
    Pending,
    ClassDesc(ClassDesc),
    Object(Object),
    Array(Array),
    String(String),
    /// A `java.lang.Class` value (`TC_CLASS`); its descriptor may be null.
    Class(Option<Handle>),
    Enum {
        desc: Handle,
        constant: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub entries: Vec<Entry>,
    /// Every top-level item, in stream order.
    pub contents: Vec<Content>,
}

impl Stream {
    pub fn entry(&self, h: Handle) -> Option<&Entry> {
        self.entries.get(h)
    }

    pub fn desc(&self, h: Handle) -> Option<&ClassDesc> {
        match self.entries.get(h) {
            Some(Entry::ClassDesc(d)) => Some(d),
            _ => None,
        }
    }

    /// The class name of an object, array, enum constant or class descriptor.
    pub fn class_name(&self, h: Handle) -> Option<&str> {
        let desc = match self.entries.get(h)? {
            Entry::Object(o) => o.desc,
            Entry::Array(a) => a.desc,
            Entry::Enum { desc, .. } => *desc,
            Entry::ClassDesc(d) => return Some(&d.name),
            Entry::String(_) => return Some("java.lang.String"),
            Entry::Class(_) => return Some("java.lang.Class"),
            Entry::Pending => return None,
        };
        self.desc(desc).map(|d| d.name.as_str())
    }

    pub fn string(&self, v: &Value) -> Option<&str> {
        match v {
            Value::Ref(h) => match self.entries.get(*h) {
                Some(Entry::String(s)) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn object(&self, v: &Value) -> Option<&Object> {
        match v {
            Value::Ref(h) => match self.entries.get(*h) {
                Some(Entry::Object(o)) => Some(o),
                _ => None,
            },
            _ => None,
        }
    }

    /// A field's value, looked up from the most-derived class upwards, as Java's virtual accessor would:
    /// Scala keeps an overridden `val` twice, and the subclass copy is the live one.
    pub fn field(&self, v: &Value, name: &str) -> Option<Value> {
        let obj = self.object(v)?;
        obj.class_data.iter().rev().find_map(|cd| self.slot_field(cd, |n| n == name))
    }

    /// Like [`Stream::field`], for Scala's name-mangled fields (`org$apache$spark$streaming$Time$$millis`).
    pub fn field_suffix(&self, v: &Value, suffix: &str) -> Option<Value> {
        let obj = self.object(v)?;
        obj.class_data.iter().rev().find_map(|cd| self.slot_field(cd, |n| n == suffix || n.ends_with(&format!("$${suffix}"))))
    }

    fn slot_field(&self, cd: &ClassData, matches: impl Fn(&str) -> bool) -> Option<Value> {
        let desc = self.desc(cd.desc)?;
        let i = desc.fields.iter().position(|f| matches(&f.name))?;
        cd.values.get(i).copied()
    }

    /// The annotation (custom `writeObject` data or external data) written by class `class` of an object.
    pub fn annotation(&self, v: &Value, class: &str) -> Option<&[Content]> {
        let obj = self.object(v)?;
        obj.class_data.iter().find(|cd| self.desc(cd.desc).is_some_and(|d| d.name == class)).and_then(|cd| cd.annotation.as_deref())
    }

    /// The last annotation in the hierarchy (the most-derived class with custom data).
    pub fn last_annotation(&self, v: &Value) -> Option<&[Content]> {
        self.object(v)?.class_data.iter().rev().find_map(|cd| cd.annotation.as_deref())
    }

    pub fn class_of(&self, v: &Value) -> Option<&str> {
        match v {
            Value::Ref(h) => self.class_name(*h),
            _ => None,
        }
    }
}
