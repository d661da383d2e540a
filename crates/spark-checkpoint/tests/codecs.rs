//! The codec layer against streams written by the real Java libraries (lz4-java, zstd-jni, snappy-java, compress-lzf).

mod common;

use spark_checkpoint::codec::decompress;
use spark_checkpoint::Limits;

fn codec_dir() -> std::path::PathBuf {
    common::fixtures().join("codec")
}

#[test]
fn payloads_written_with_flushes_round_trip_exactly() {
    let side = common::read_json(&codec_dir().join("expected.json"));
    let codecs = side["codecs"].as_array().expect("codecs");
    assert_eq!(codecs.len(), 4);
    for codec in codecs {
        let codec = codec.as_str().unwrap();
        let file = std::fs::read(codec_dir().join(format!("payload.{codec}"))).unwrap();
        let (raw, framing) = decompress(&file, &Limits::default()).unwrap_or_else(|e| panic!("{codec}: {e}"));
        assert_eq!(framing.codec, codec);
        assert_eq!(raw.len() as u64, side["payloadLength"].as_u64().unwrap(), "{codec}");
        assert_eq!(u64::from(common::crc32(&raw)), side["payloadCrc32"].as_u64().unwrap(), "{codec}");
        // 74 KB through 32 KiB blocks: every framing must have split it.
        assert!(framing.chunks >= 3, "{codec}: {} chunks", framing.chunks);
        assert!(framing.warnings.is_empty(), "{codec}: {:?}", framing.warnings);
        if codec == "lz4" || codec == "zstd" {
            assert_eq!(framing.end_marker, Some(true), "{codec}");
        }
    }
}

#[test]
fn compressed_java_streams_match_the_uncompressed_one() {
    let plain = std::fs::read(common::fixtures().join("java/collections.ser")).unwrap();
    for codec in ["lz4", "zstd", "snappy", "lzf"] {
        let file = std::fs::read(codec_dir().join(format!("collections.ser.{codec}"))).unwrap();
        let (raw, _) = decompress(&file, &Limits::default()).unwrap_or_else(|e| panic!("{codec}: {e}"));
        assert!(raw == plain, "{codec}: decompressed bytes differ from collections.ser");
    }
}

#[test]
fn lz4_checksum_mismatch_is_reported_with_its_values() {
    let mut file = std::fs::read(codec_dir().join("collections.ser.lz4")).unwrap();
    file[17] ^= 0x01; // the stored checksum of the first block
    let err = decompress(&file, &Limits::default()).unwrap_err().to_string();
    assert!(err.starts_with("lz4: at file byte 0: block checksum"), "{err}");
}

#[test]
fn lz4_without_end_block_decodes_with_a_warning_like_spark() {
    let file = std::fs::read(codec_dir().join("collections.ser.lz4")).unwrap();
    let cut = &file[..file.len() - 21];
    let (raw, framing) = decompress(cut, &Limits::default()).unwrap();
    assert_eq!(raw, std::fs::read(common::fixtures().join("java/collections.ser")).unwrap());
    assert_eq!(framing.end_marker, Some(false));
    assert!(framing.warnings[0].contains("no lz4 end block"), "{:?}", framing.warnings);
}

#[test]
fn zstd_missing_only_its_last_block_decodes_with_a_warning_like_zstd_jni() {
    let file = std::fs::read(codec_dir().join("collections.ser.zstd")).unwrap();
    let plain = std::fs::read(common::fixtures().join("java/collections.ser")).unwrap();
    assert_eq!(&file[file.len() - 3..], &[1, 0, 0], "zstd-jni ends a frame with an empty last block");
    for cut in 1..=3 {
        let (raw, framing) = decompress(&file[..file.len() - cut], &Limits::default()).unwrap();
        assert_eq!(raw, plain, "cut {cut}");
        assert_eq!(framing.end_marker, Some(false));
    }
    let err = decompress(&file[..file.len() - 10], &Limits::default()).unwrap_err().to_string();
    assert!(err.contains("the file was cut"), "{err}");
}

#[test]
fn decompression_cap_stops_a_bomb_before_allocating() {
    let file = std::fs::read(codec_dir().join("payload.snappy")).unwrap();
    let limits = Limits { max_decompressed: 10_000, ..Limits::default() };
    let err = decompress(&file, &limits).unwrap_err().to_string();
    assert!(err.contains("would exceed 10000 bytes"), "{err}");
}

#[test]
fn unknown_formats_name_their_first_bytes() {
    let err = decompress(b"PK\x03\x04zip", &Limits::default()).unwrap_err().to_string();
    assert!(err.contains("50 4b 03 04"), "{err}");
    let err = decompress(b"", &Limits::default()).unwrap_err().to_string();
    assert!(err.contains("empty file"), "{err}");
}
