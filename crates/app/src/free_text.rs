//! Vrije tekst: what a consultant types (the reason of a correction or retraction) may name
//! people, so it is stored sealed under a data key of the youth it concerns. Erasing the youth
//! (AVG art. 17) destroys that key: the events stay, every figure stays, the text is gone.
//!
//! The keys live in the store's [`Vault`], outside the immutable log; a key is durable before
//! the first event sealed with it is appended.

use jeugdpad_domain::{Reason, SubjectKey};
use jeugdpad_secrets::DataKey;
use jeugdpad_store::{StoreError, Vault};

/// Seals and opens the free text of events, per subject.
#[derive(Debug, Clone)]
pub struct FreeText {
    vault: Vault,
}

/// A stored free text as a reader gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readable {
    /// The text as typed.
    Text(String),
    /// The subject's key was destroyed (erasure): the text is gone for good.
    Erased,
    /// The sealed text does not open with the subject's key (damage, or moved between subjects).
    Unreadable,
}

impl FreeText {
    /// Free text of the store that owns `vault`.
    pub fn new(vault: Vault) -> FreeText {
        FreeText { vault }
    }

    /// Seals `text` for `subject`, creating (durably) the subject's key on first use. Blocking.
    /// Text that is sealed already is returned as it is.
    pub fn seal(&self, subject: &SubjectKey, text: &Reason) -> Result<Reason, StoreError> {
        if text.is_sealed() {
            return Ok(text.clone());
        }
        let fresh = DataKey::generate();
        let stored = self.vault.get_or_insert(&name(subject), fresh.as_bytes())?;
        let key = data_key(&stored)?;
        let sealed = jeugdpad_secrets::seal(&key, subject.as_str(), text.as_str());
        Reason::parse(sealed).map_err(|e| StoreError::Storage(format!("sealed text refused: {e}")))
    }

    /// Opens a stored text for display. Blocking. Plain (unsealed) text, e.g. imported history,
    /// is returned as it is.
    pub fn open(&self, subject: &SubjectKey, text: &Reason) -> Result<Readable, StoreError> {
        if !text.is_sealed() {
            return Ok(Readable::Text(text.as_str().to_owned()));
        }
        let Some(stored) = self.vault.get(&name(subject))? else {
            return Ok(Readable::Erased);
        };
        let key = data_key(&stored)?;
        Ok(
            match jeugdpad_secrets::open(&key, subject.as_str(), text.as_str()) {
                Ok(plain) => Readable::Text(plain),
                // Sealed under a key destroyed by an erasure; the subject has a new key since
                // (text recorded after the erasure is new data, sealed under a new key).
                Err(_) if self.vault.get(&erased(subject))?.is_some() => Readable::Erased,
                Err(_) => Readable::Unreadable,
            },
        )
    }

    /// Destroys the subject's key (durable on return); `true` if there was one. Leaves a
    /// marker that the subject was erased, so text sealed under the destroyed key reads as
    /// erased (not as damaged) even after new text gave the subject a new key.
    pub fn erase(&self, subject: &SubjectKey) -> Result<bool, StoreError> {
        self.vault.get_or_insert(&erased(subject), b"")?;
        self.vault.remove(&name(subject))
    }
}

fn name(subject: &SubjectKey) -> Vec<u8> {
    [b"subject-data-key/".as_slice(), subject.as_str().as_bytes()].concat()
}

fn erased(subject: &SubjectKey) -> Vec<u8> {
    [b"subject-erased/".as_slice(), subject.as_str().as_bytes()].concat()
}

fn data_key(stored: &[u8]) -> Result<DataKey, StoreError> {
    let bytes: [u8; 32] = stored
        .try_into()
        .map_err(|_| StoreError::Storage("a data key in the vault is not 32 bytes".into()))?;
    Ok(DataKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_until_the_subject_is_erased() {
        let dir = tempfile::tempdir().unwrap();
        let store = jeugdpad_store::Store::open(dir.path()).unwrap();
        let free = FreeText::new(store.vault().unwrap());
        let (anna, bram) = (
            SubjectKey::parse("p-anna").unwrap(),
            SubjectKey::parse("p-bram").unwrap(),
        );
        let typed = Reason::parse("moeder belde: verkeerde datum").unwrap();

        let sealed = free.seal(&anna, &typed).unwrap();
        assert!(sealed.is_sealed());
        assert!(!sealed.as_str().contains("moeder"));
        assert_eq!(
            free.seal(&anna, &sealed).unwrap(),
            sealed,
            "sealing twice is a no-op"
        );
        assert_eq!(
            free.open(&anna, &sealed).unwrap(),
            Readable::Text(typed.as_str().into())
        );
        // Another subject's key does not open it (their key is created by sealing for them).
        free.seal(&bram, &typed).unwrap();
        assert_eq!(free.open(&bram, &sealed).unwrap(), Readable::Unreadable);
        // Plain text (imported history) passes through.
        assert_eq!(
            free.open(&anna, &typed).unwrap(),
            Readable::Text(typed.as_str().into())
        );

        assert!(free.erase(&anna).unwrap());
        assert_eq!(free.open(&anna, &sealed).unwrap(), Readable::Erased);
        assert!(!free.erase(&anna).unwrap());
        // New text after the erasure is new data under a new key; the old text stays erased.
        let later = free.seal(&anna, &typed).unwrap();
        assert_eq!(
            free.open(&anna, &later).unwrap(),
            Readable::Text(typed.as_str().into())
        );
        assert_eq!(free.open(&anna, &sealed).unwrap(), Readable::Erased);
        // Bram is untouched.
        let bram_text = free.seal(&bram, &typed).unwrap();
        assert_eq!(
            free.open(&bram, &bram_text).unwrap(),
            Readable::Text(typed.as_str().into())
        );
    }
}
