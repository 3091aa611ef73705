//! Unit tests of the wire format: the frozen symbol table, zigzag, garbage.
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

#[test]
fn symbol_table_v1_is_frozen() {
    // If this fails, the v1 symbol table changed: existing devices would decode
    // identifiers wrongly. Only append (new vocabularies at the end of VOCABULARIES,
    // new identifiers at the end of the last group), then update the figures.
    let (list, _) = symbols();
    let joined = list.join(",");
    let fnv = joined.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    assert_eq!(
        (list.len(), fnv),
        (list.len(), fnv_pinned()),
        "symbols: {joined}"
    );
}

fn fnv_pinned() -> u64 {
    include!("../wire_symbols_v1.fnv")
}

#[test]
fn zigzag_round_trips() {
    for n in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
        assert_eq!(unzigzag(zigzag(n)), n);
    }
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let cases: &[&[u8]] = &[
        &[],
        &[1, 2, 3],
        &[FORMAT_VERSION, 200, 200, 200, 200],
        &[9, 0, 0, 0, 0],
        &[FORMAT_VERSION, 0, 0, 0, 1, 0, 1, 1],
        &[FORMAT_VERSION, 0, 0, 0, 0, 7],
        &[
            FORMAT_VERSION,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0x01,
        ],
    ];
    for bytes in cases {
        assert!(decode(bytes).is_err(), "{bytes:?}");
    }
    assert_eq!(decode(&[FORMAT_VERSION, 0, 0, 0, 0]), Ok(vec![]));
}
