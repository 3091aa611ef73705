//! Tokens, one-time codes and passwords. Tokens and codes are random and
//! stored as SHA-256 hashes (they carry 120+ bits, so a fast hash suffices);
//! passwords are stored as argon2id PHC strings and checked in constant time.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

/// Random bytes from the operating system.
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // The OS generator failing is not something a request can recover from.
    getrandom::fill(&mut out).expect("the operating system's random generator failed");
    out
}

/// A new bearer token (hex, 256 random bits).
pub fn new_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// SHA-256 of a token or code, hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Letters and digits that cannot be confused when read aloud or typed with
/// cold hands (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";

/// A one-time code like `K7QX-MHT4-RCW9` (12 symbols of 25, ~55 bits; the
/// modulo bias is negligible for a code that expires and is rate-limited).
pub fn new_code() -> String {
    let bytes = random_bytes::<12>();
    let symbols: String = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect();
    format!("{}-{}-{}", &symbols[0..4], &symbols[4..8], &symbols[8..12])
}

/// A phone's recovery code like `K7QX-MHT4-RCW9-XA3D-PQ6T` (20 symbols of 25,
/// about 93 bits): it wraps the phone's data key, so it must resist an
/// offline search.
pub fn new_recovery_code() -> String {
    let bytes = random_bytes::<20>();
    let symbols: Vec<char> = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect();
    symbols
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Normalises a typed code: upper case, no spaces or dashes, then regrouped.
pub fn normalise_code(typed: &str) -> String {
    let s: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if s.len() == 12 {
        format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12])
    } else {
        s
    }
}

/// At most one password hash per core runs at once. Each takes a core and
/// 19 MiB (argon2id's default memory cost), so a burst of logins (1,000 slow
/// ones finishing together, under attack) would otherwise hold hundreds of
/// megabytes and every core; beyond the limit they queue on the blocking
/// pool, where they already run.
struct Gate {
    busy: std::sync::Mutex<usize>,
    free: std::sync::Condvar,
    peak: std::sync::atomic::AtomicUsize,
}

static GATE: Gate = Gate {
    busy: std::sync::Mutex::new(0),
    free: std::sync::Condvar::new(),
    peak: std::sync::atomic::AtomicUsize::new(0),
};

fn hash_permits() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Runs `f` once a hashing permit is free; the permit is given back even if
/// `f` panics.
fn gated<T>(f: impl FnOnce() -> T) -> T {
    struct Permit;
    impl Drop for Permit {
        fn drop(&mut self) {
            *GATE.busy.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            GATE.free.notify_one();
        }
    }
    let mut busy = GATE.busy.lock().unwrap_or_else(|e| e.into_inner());
    while *busy >= hash_permits() {
        busy = GATE.free.wait(busy).unwrap_or_else(|e| e.into_inner());
    }
    *busy += 1;
    GATE.peak
        .fetch_max(*busy, std::sync::atomic::Ordering::Relaxed);
    drop(busy);
    let _permit = Permit;
    f()
}

/// Hashes a password with argon2id (slow on purpose: call off the executor).
pub fn hash_password(password: &str) -> Result<String, String> {
    gated(|| {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
}

/// Checks a password against a stored hash in constant time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    gated(|| {
        Argon2::default()
            .verify_password(password.as_bytes(), stored)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so a failed login
/// takes as long whether or not the username is known.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_password_hashes_run_at_once_than_there_are_cores() {
        let threads: Vec<_> = (0..8)
            .map(|i| std::thread::spawn(move || hash_password(&format!("password {i}")).unwrap()))
            .collect();
        let hashes: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(verify_password("password 3", &hashes[3]));
        let peak = GATE.peak.load(std::sync::atomic::Ordering::Relaxed);
        assert!((1..=hash_permits()).contains(&peak), "{peak} at once");
        // Other tests may be hashing now: at most the permits are in use.
        assert!(*GATE.busy.lock().unwrap() <= hash_permits());
    }

    #[test]
    fn codes_are_readable_and_normalise() {
        let c = new_code();
        assert_eq!(c.len(), 14);
        assert!(c
            .chars()
            .all(|ch| ch == '-' || CODE_ALPHABET.contains(&(ch as u8))));
        assert_eq!(normalise_code(&c.to_lowercase().replace('-', " ")), c);
        assert_ne!(new_code(), new_code());
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
    }
}
