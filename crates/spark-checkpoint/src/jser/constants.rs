//! Type codes and class-descriptor flags from `java.io.ObjectStreamConstants`.

pub const STREAM_MAGIC: u16 = 0xACED;
pub const STREAM_VERSION: u16 = 5;
/// Wire handles are numbered from here.
pub const BASE_WIRE_HANDLE: i32 = 0x7E_0000;

pub const TC_NULL: u8 = 0x70;
pub const TC_REFERENCE: u8 = 0x71;
pub const TC_CLASSDESC: u8 = 0x72;
pub const TC_OBJECT: u8 = 0x73;
pub const TC_STRING: u8 = 0x74;
pub const TC_ARRAY: u8 = 0x75;
pub const TC_CLASS: u8 = 0x76;
pub const TC_BLOCKDATA: u8 = 0x77;
pub const TC_ENDBLOCKDATA: u8 = 0x78;
pub const TC_RESET: u8 = 0x79;
pub const TC_BLOCKDATALONG: u8 = 0x7A;
pub const TC_EXCEPTION: u8 = 0x7B;
pub const TC_LONGSTRING: u8 = 0x7C;
pub const TC_PROXYCLASSDESC: u8 = 0x7D;
pub const TC_ENUM: u8 = 0x7E;

pub const SC_WRITE_METHOD: u8 = 0x01;
pub const SC_SERIALIZABLE: u8 = 0x02;
pub const SC_EXTERNALIZABLE: u8 = 0x04;
pub const SC_BLOCK_DATA: u8 = 0x08;
pub const SC_ENUM: u8 = 0x10;

/// A readable name for a type code, for error messages.
pub fn tc_name(tc: u8) -> &'static str {
    match tc {
        TC_NULL => "TC_NULL",
        TC_REFERENCE => "TC_REFERENCE",
        TC_CLASSDESC => "TC_CLASSDESC",
        TC_OBJECT => "TC_OBJECT",
        TC_STRING => "TC_STRING",
        TC_ARRAY => "TC_ARRAY",
        TC_CLASS => "TC_CLASS",
        TC_BLOCKDATA => "TC_BLOCKDATA",
        TC_ENDBLOCKDATA => "TC_ENDBLOCKDATA",
        TC_RESET => "TC_RESET",
        TC_BLOCKDATALONG => "TC_BLOCKDATALONG",
        TC_EXCEPTION => "TC_EXCEPTION",
        TC_LONGSTRING => "TC_LONGSTRING",
        TC_PROXYCLASSDESC => "TC_PROXYCLASSDESC",
        TC_ENUM => "TC_ENUM",
        _ => "an unknown type code",
    }
}
