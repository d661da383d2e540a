//! The stream grammar (Java Object Serialization Specification §6.4) over [`Reader`], with every length bounded.

use super::constants::*;
use super::model::*;
use super::mutf8;
use super::reader::Reader;
use crate::{Error, Limits, Result};

/// Parses a whole stream: magic, version, then every top-level content until the end of input.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Stream> {
    let mut p = Parser { r: Reader::new(bytes), entries: Vec::new(), wire: Vec::new(), depth: 0, limits };
    let magic = p.r.u16("stream magic")?;
    if magic != STREAM_MAGIC {
        return Err(Error::java(0, format!("stream magic 0x{magic:04x} is not 0xaced")));
    }
    let version = p.r.u16("stream version")?;
    if version != STREAM_VERSION {
        return Err(Error::java(2, format!("stream version {version} is not 5")));
    }
    let mut contents = Vec::new();
    while !p.r.at_end() {
        if let Some(c) = p.content()? {
            contents.push(c);
        }
    }
    Ok(Stream { entries: p.entries, contents })
}

struct Parser<'a, 'l> {
    r: Reader<'a>,
    entries: Vec<Entry>,
    /// Wire handle number (minus the base) → arena handle; `TC_RESET` clears it, the arena stays.
    wire: Vec<Handle>,
    depth: usize,
    limits: &'l Limits,
}

impl Parser<'_, '_> {
    fn new_handle(&mut self) -> Result<Handle> {
        if self.entries.len() >= self.limits.max_entries {
            return Err(Error::limit(Some(self.r.pos), format!("more than {} objects", self.limits.max_entries)));
        }
        self.entries.push(Entry::Pending);
        let h = self.entries.len() - 1;
        self.wire.push(h);
        Ok(h)
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(Error::limit(Some(self.r.pos), format!("nesting deeper than {}", self.limits.max_depth)));
        }
        Ok(())
    }

    /// A content item where block data is allowed (top level, annotations); `None` for `TC_RESET`.
    fn content(&mut self) -> Result<Option<Content>> {
        let at = self.r.pos;
        match self.r.peek() {
            Some(TC_BLOCKDATA) => {
                self.r.pos += 1;
                let n = self.r.u8("TC_BLOCKDATA length")? as usize;
                Ok(Some(Content::Block(self.r.bytes(n, "TC_BLOCKDATA bytes")?.to_vec())))
            }
            Some(TC_BLOCKDATALONG) => {
                self.r.pos += 1;
                let n = self.r.i32("TC_BLOCKDATALONG length")?;
                if n < 0 {
                    return Err(Error::java(at, format!("TC_BLOCKDATALONG with negative length {n}")));
                }
                Ok(Some(Content::Block(self.r.bytes(n as usize, "TC_BLOCKDATALONG bytes")?.to_vec())))
            }
            Some(TC_RESET) => {
                self.r.pos += 1;
                self.wire.clear();
                Ok(None)
            }
            _ => Ok(Some(Content::Value(self.value("an object")?))),
        }
    }

    /// `contents* TC_ENDBLOCKDATA`: a `writeObject` annotation, external data or a class annotation.
    fn annotation(&mut self) -> Result<Vec<Content>> {
        let mut items = Vec::new();
        loop {
            match self.r.peek() {
                Some(TC_ENDBLOCKDATA) => {
                    self.r.pos += 1;
                    return Ok(items);
                }
                None => return Err(Error::java(self.r.pos, "annotation not closed by TC_ENDBLOCKDATA: the stream was cut")),
                _ => {
                    if let Some(c) = self.content()? {
                        items.push(c);
                    }
                }
            }
        }
    }

    /// An object position: everything but block data. `what` names the slot for error messages.
    fn value(&mut self, what: &str) -> Result<Value> {
        loop {
            let at = self.r.pos;
            let tc = self.r.u8(what)?;
            let h = match tc {
                TC_NULL => return Ok(Value::Null),
                TC_RESET => {
                    self.wire.clear();
                    continue;
                }
                TC_REFERENCE => return Ok(Value::Ref(self.reference(at)?)),
                TC_STRING => {
                    let n = self.r.u16("TC_STRING length")? as usize;
                    self.string(n, at)?
                }
                TC_LONGSTRING => {
                    let n = self.r.i64("TC_LONGSTRING length")?;
                    if n < 0 || n as u64 > self.r.left() as u64 {
                        return Err(Error::java(at, format!("TC_LONGSTRING length {n} with {} bytes left", self.r.left())));
                    }
                    self.string(n as usize, at)?
                }
                TC_OBJECT => self.nested(|p| p.object(at))?,
                TC_ARRAY => self.nested(|p| p.array(at))?,
                TC_ENUM => self.nested(|p| p.enum_constant(at))?,
                TC_CLASS => {
                    let desc = self.nested(|p| p.class_desc_after_tc(at))?;
                    let h = self.new_handle()?;
                    self.entries[h] = Entry::Class(desc);
                    h
                }
                TC_CLASSDESC | TC_PROXYCLASSDESC => {
                    self.r.pos = at;
                    match self.nested(|p| p.class_desc("a class descriptor"))? {
                        Some(h) => h,
                        None => return Ok(Value::Null),
                    }
                }
                TC_EXCEPTION => return Err(self.exception(at)),
                TC_BLOCKDATA | TC_BLOCKDATALONG | TC_ENDBLOCKDATA => {
                    return Err(Error::java(at, format!("{} where {what} was expected", tc_name(tc))))
                }
                _ => return Err(Error::java(at, format!("unknown type code 0x{tc:02x} where {what} was expected"))),
            };
            return Ok(Value::Ref(h));
        }
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.enter()?;
        let out = f(self)?;
        self.depth -= 1;
        Ok(out)
    }

    fn reference(&mut self, at: usize) -> Result<Handle> {
        let wire = self.r.i32("TC_REFERENCE handle")?;
        let idx = wire.wrapping_sub(BASE_WIRE_HANDLE);
        match usize::try_from(idx).ok().and_then(|i| self.wire.get(i)) {
            Some(&h) => Ok(h),
            None => Err(Error::java(at, format!("TC_REFERENCE to handle 0x{wire:x}, but only {} handles exist", self.wire.len()))),
        }
    }

    fn string(&mut self, n: usize, at: usize) -> Result<Handle> {
        let h = self.new_handle()?;
        let bytes = self.r.bytes(n, "string bytes")?;
        let s = mutf8::decode(bytes).map_err(|m| Error::java(at, format!("invalid modified UTF-8 string: {m}")))?;
        self.entries[h] = Entry::String(s);
        Ok(h)
    }

    /// A string in a string-only slot (field type names, enum constant names).
    fn string_value(&mut self, what: &str) -> Result<String> {
        let at = self.r.pos;
        match self.value(what)? {
            Value::Ref(h) => match &self.entries[h] {
                Entry::String(s) => Ok(s.clone()),
                _ => Err(Error::java(at, format!("{what} is not a string"))),
            },
            _ => Err(Error::java(at, format!("{what} is null"))),
        }
    }

    /// `classDesc`: a new descriptor, a proxy descriptor, a reference to one, or null.
    fn class_desc(&mut self, what: &str) -> Result<Option<Handle>> {
        let at = self.r.pos;
        let tc = self.r.u8(what)?;
        match tc {
            TC_NULL => Ok(None),
            TC_REFERENCE => {
                let h = self.reference(at)?;
                match &self.entries[h] {
                    Entry::ClassDesc(_) => Ok(Some(h)),
                    _ => Err(Error::java(at, format!("{what}: TC_REFERENCE to something that is not a class descriptor"))),
                }
            }
            TC_CLASSDESC => self.new_class_desc(at).map(Some),
            TC_PROXYCLASSDESC => self.new_proxy_desc(at).map(Some),
            _ => Err(Error::java(at, format!("{} where {what} was expected", tc_name(tc)))),
        }
    }

    fn class_desc_after_tc(&mut self, _at: usize) -> Result<Option<Handle>> {
        self.class_desc("the class descriptor of a TC_CLASS")
    }

    fn new_class_desc(&mut self, at: usize) -> Result<Handle> {
        let n = self.r.u16("class name length")? as usize;
        let name = mutf8::decode(self.r.bytes(n, "class name")?).map_err(|m| Error::java(at, format!("invalid class name: {m}")))?;
        let suid = self.r.i64("serialVersionUID")?;
        // The handle comes before the field type strings, so they are numbered after it.
        let h = self.new_handle()?;
        let flags = self.r.u8("class flags")?;
        if flags & SC_SERIALIZABLE != 0 && flags & SC_EXTERNALIZABLE != 0 {
            return Err(Error::java(at, format!("class {name} is both serializable and externalizable")));
        }
        let count = self.r.u16("field count")? as usize;
        if count > self.limits.max_fields {
            return Err(Error::limit(Some(at), format!("class {name} declares {count} fields")));
        }
        let mut fields = Vec::with_capacity(count.min(self.r.left() / 3));
        for _ in 0..count {
            let type_code = self.r.u8("field type code")?;
            let fat = self.r.pos;
            let len = self.r.u16("field name length")? as usize;
            let fname = mutf8::decode(self.r.bytes(len, "field name")?)
                .map_err(|m| Error::java(fat, format!("invalid field name in {name}: {m}")))?;
            let class_name = match type_code {
                b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z' => None,
                b'L' | b'[' => Some(self.string_value("a field's type name")?),
                t => return Err(Error::java(fat - 1, format!("field {name}.{fname} has unknown type code 0x{t:02x}"))),
            };
            fields.push(FieldDesc { type_code, name: fname, class_name });
        }
        let annotation = self.annotation()?;
        let super_desc = self.class_desc("a super class descriptor")?;
        self.entries[h] = Entry::ClassDesc(ClassDesc { name, suid, flags, fields, annotation, super_desc, proxy_interfaces: None });
        Ok(h)
    }

    fn new_proxy_desc(&mut self, at: usize) -> Result<Handle> {
        let h = self.new_handle()?;
        let count = self.r.i32("proxy interface count")?;
        // Each name needs at least its 2-byte length.
        if count < 0 || count as usize > self.r.left() / 2 {
            return Err(Error::java(at, format!("proxy class with {count} interfaces")));
        }
        let mut names = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let n = self.r.u16("proxy interface name length")? as usize;
            names.push(
                mutf8::decode(self.r.bytes(n, "proxy interface name")?)
                    .map_err(|m| Error::java(at, format!("invalid interface name: {m}")))?,
            );
        }
        let annotation = self.annotation()?;
        let super_desc = self.class_desc("a proxy's super class descriptor")?;
        self.entries[h] = Entry::ClassDesc(ClassDesc {
            name: format!("$Proxy({})", names.join(", ")),
            suid: 0,
            flags: SC_SERIALIZABLE,
            fields: vec![],
            annotation,
            super_desc,
            proxy_interfaces: Some(names),
        });
        Ok(h)
    }

    /// The descriptor chain, superclass first; guards against a crafted cycle.
    fn chain(&self, leaf: Handle) -> Result<Vec<Handle>> {
        let mut chain = vec![leaf];
        let mut cur = leaf;
        while let Some(Entry::ClassDesc(d)) = self.entries.get(cur) {
            match d.super_desc {
                Some(s) if chain.contains(&s) => {
                    return Err(Error::java(self.r.pos, format!("class {} has a cyclic superclass chain", d.name)))
                }
                Some(s) if chain.len() < self.limits.max_depth => {
                    chain.push(s);
                    cur = s;
                }
                Some(_) => return Err(Error::limit(Some(self.r.pos), "superclass chain too long")),
                None => break,
            }
        }
        chain.reverse();
        Ok(chain)
    }

    fn object(&mut self, at: usize) -> Result<Handle> {
        let desc =
            self.class_desc("an object's class descriptor")?.ok_or_else(|| Error::java(at, "TC_OBJECT with a null class descriptor"))?;
        let h = self.new_handle()?;
        let leaf = self.desc_of(desc);
        let class_data = if leaf.flags & SC_EXTERNALIZABLE != 0 {
            if leaf.flags & SC_BLOCK_DATA == 0 {
                let name = leaf.name.clone();
                return Err(Error::java(at, format!("externalizable {name} written without block data (protocol 1) cannot be delimited")));
            }
            vec![ClassData { desc, values: vec![], annotation: Some(self.annotation()?) }]
        } else {
            let mut slots = Vec::new();
            for d in self.chain(desc)? {
                slots.push(self.class_data(d)?);
            }
            slots
        };
        self.entries[h] = Entry::Object(Object { desc, class_data });
        Ok(h)
    }

    /// Only called on handles `class_desc()` returned, which are always descriptors; an empty
    /// descriptor stands in rather than a panic should that ever change.
    fn desc_of(&self, h: Handle) -> &ClassDesc {
        static EMPTY: ClassDesc = ClassDesc {
            name: String::new(),
            suid: 0,
            flags: 0,
            fields: Vec::new(),
            annotation: Vec::new(),
            super_desc: None,
            proxy_interfaces: None,
        };
        match self.entries.get(h) {
            Some(Entry::ClassDesc(d)) => d,
            _ => &EMPTY,
        }
    }

    /// One class's slot: its fields in descriptor order, then its `writeObject` annotation if any.
    fn class_data(&mut self, desc: Handle) -> Result<ClassData> {
        // Copy only the type codes: cloning a whole descriptor per object would be quadratic.
        let flags = self.desc_of(desc).flags;
        let codes: Vec<u8> = self.desc_of(desc).fields.iter().map(|f| f.type_code).collect();
        let mut values = Vec::with_capacity(codes.len());
        if flags & SC_SERIALIZABLE != 0 {
            for (i, code) in codes.into_iter().enumerate() {
                let v = self.field_value(code).map_err(|mut e| {
                    if !e.message.contains(" (in ") {
                        let d = self.desc_of(desc);
                        let field = d.fields.get(i).map_or("?", |f| f.name.as_str());
                        e.message = format!("{} (in {}.{field})", e.message, d.name);
                    }
                    e
                })?;
                values.push(v);
            }
        }
        let annotation = if flags & SC_SERIALIZABLE != 0 && flags & SC_WRITE_METHOD != 0 { Some(self.annotation()?) } else { None };
        Ok(ClassData { desc, values, annotation })
    }

    fn field_value(&mut self, type_code: u8) -> Result<Value> {
        Ok(match type_code {
            b'B' => Value::Byte(self.r.u8("a byte field")? as i8),
            b'C' => Value::Char(self.r.u16("a char field")?),
            b'D' => Value::Double(self.r.f64("a double field")?),
            b'F' => Value::Float(self.r.f32("a float field")?),
            b'I' => Value::Int(self.r.i32("an int field")?),
            b'J' => Value::Long(self.r.i64("a long field")?),
            b'S' => Value::Short(self.r.i16("a short field")?),
            b'Z' => Value::Boolean(self.r.u8("a boolean field")? != 0),
            _ => self.value("an object field")?,
        })
    }

    fn array(&mut self, at: usize) -> Result<Handle> {
        let desc =
            self.class_desc("an array's class descriptor")?.ok_or_else(|| Error::java(at, "TC_ARRAY with a null class descriptor"))?;
        let name = self.desc_of(desc).name.clone();
        let elem = match name.as_bytes() {
            [b'[', e, ..] => *e,
            _ => return Err(Error::java(at, format!("array class name {name:?} does not start with '['"))),
        };
        let h = self.new_handle()?;
        let len = self.r.i32("array length")?;
        let size = match elem {
            b'B' | b'Z' => 1,
            b'C' | b'S' => 2,
            b'I' | b'F' => 4,
            b'J' | b'D' => 8,
            b'L' | b'[' => 1,
            e => return Err(Error::java(at, format!("array {name} has unknown element type 0x{e:02x}"))),
        };
        // Checked against the bytes left before allocating: every element needs at least `size` bytes.
        if len < 0 || len as usize > self.limits.max_array_len || len as usize > self.r.left() / size {
            return Err(Error::java(at, format!("array {name} of length {len} with {} bytes left", self.r.left())));
        }
        let len = len as usize;
        let data = if elem == b'B' {
            ArrayData::Bytes(self.r.bytes(len, "byte array")?.to_vec())
        } else {
            let mut values = Vec::with_capacity(len);
            for i in 0..len {
                let v = self.field_value(elem).map_err(|mut e| {
                    if !e.message.contains(" (in ") {
                        e.message = format!("{} (in {name}[{i}])", e.message);
                    }
                    e
                })?;
                values.push(v);
            }
            ArrayData::Values(values)
        };
        self.entries[h] = Entry::Array(Array { desc, data });
        Ok(h)
    }

    fn enum_constant(&mut self, at: usize) -> Result<Handle> {
        let desc = self.class_desc("an enum's class descriptor")?.ok_or_else(|| Error::java(at, "TC_ENUM with a null class descriptor"))?;
        let h = self.new_handle()?;
        let constant = self.string_value("an enum constant name")?;
        self.entries[h] = Entry::Enum { desc, constant };
        Ok(h)
    }

    /// `TC_EXCEPTION`: the writer failed mid-stream and wrote the Throwable; report what it was.
    fn exception(&mut self, at: usize) -> Error {
        self.wire.clear();
        let what = match self.value("the exception object") {
            Ok(v) => {
                // Borrow the arena as a Stream for the lookups, then give it back: callers up the
                // stack still name the class they were reading when this error passes them.
                let stream = Stream { entries: std::mem::take(&mut self.entries), contents: vec![] };
                let class = stream.class_of(&v).unwrap_or("an unknown class").to_string();
                let message = stream.field(&v, "detailMessage").and_then(|m| stream.string(&m).map(str::to_string));
                self.entries = stream.entries;
                match message {
                    Some(m) => format!("{class}: {m}"),
                    None => class,
                }
            }
            Err(e) => format!("an unreadable exception object ({e})"),
        };
        Error::java(at, format!("TC_EXCEPTION: the writer failed mid-stream with {what}"))
    }
}
