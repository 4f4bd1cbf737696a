//! Parsed GraphQL documents, by their text.
//!
//! The web app and the scripts send the same few query texts over and over, with other
//! variables; parsing one took more of a timeline request's time than reading the timeline.
//! A document parsed for a signed-in caller is kept and handed to the next request with the
//! same text; validation, the depth and complexity limits and execution still run every time.
//!
//! Only a text that writes no string into itself is kept: identifiers and subject keys travel
//! in variables, and a text that carries them inline is parsed every time rather than held in
//! memory (or found faster by whoever sends the same text).
//!
//! The bound: a parsed document takes up to about a hundred times its text, so at most
//! [`CAPACITY`] texts of at most [`MAX_TEXT`] bytes hold some 50 MB in the worst case (a
//! signed-in caller sending the largest texts on purpose); real queries hold a few hundred KB.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;

/// Documents kept at most. When a new text finds the cache full, it starts afresh: memory stays
/// bounded whatever callers send, and the texts in use come back at once.
const CAPACITY: usize = 128;

/// Longer query texts are parsed every time (GraphiQL's introspection query is 2.2 KB).
const MAX_TEXT: usize = 4 * 1024;

/// The cache (one per router).
#[derive(Debug, Default)]
pub(super) struct Documents {
    /// Shared, so that the lock is held only to copy a pointer.
    parsed: Mutex<HashMap<String, Arc<ExecutableDocument>>>,
}

impl Documents {
    /// Gives `request` the document parsed earlier from the same text, if any.
    pub(super) fn reuse(&self, request: &mut async_graphql::Request) {
        let found = self.lock().get(&request.query).cloned();
        if let Some(document) = found {
            request.set_parsed_query(ExecutableDocument::clone(&document));
        }
    }

    /// Keeps `request`'s document for the next request with the same text. Only for a caller
    /// who signed in, so that nobody without a token can fill the cache; a text that does not
    /// parse, is too long or writes a string into itself is not kept.
    pub(super) fn keep(&self, request: &mut async_graphql::Request) {
        if request.query.len() > MAX_TEXT
            || request.query.contains('"')
            || self.lock().contains_key(&request.query)
        {
            return;
        }
        let Ok(document) = request.parsed_query() else {
            return;
        };
        let document = Arc::new(document.clone());
        let mut parsed = self.lock();
        if parsed.len() >= CAPACITY {
            parsed.clear();
        }
        parsed.insert(request.query.clone(), document);
    }

    /// Documents kept now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ExecutableDocument>>> {
        // A panic elsewhere cannot leave a half-inserted document: the map stays usable.
        self.parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str) -> async_graphql::Request {
        async_graphql::Request::new(query)
    }

    /// The names of the operations `request`'s document holds (parsing it if it has none).
    fn operations(request: &mut async_graphql::Request) -> Vec<String> {
        match &request.parsed_query().expect("parsed").operations {
            async_graphql::parser::types::DocumentOperations::Multiple(map) => {
                map.keys().map(|k| k.to_string()).collect()
            }
            async_graphql::parser::types::DocumentOperations::Single(_) => Vec::new(),
        }
    }

    #[test]
    fn a_kept_document_is_handed_to_the_next_request_with_the_same_text() {
        let documents = Documents::default();
        documents.keep(&mut request("query A { health }"));
        assert_eq!(documents.len(), 1);
        // What is handed on is the kept document, not a new parse: swap in another one under
        // the same text and the next request carries that.
        let other =
            Arc::new(async_graphql::parser::parse_query("query B { health }").expect("parses"));
        documents
            .lock()
            .insert("query A { health }".to_owned(), other);
        let mut second = request("query A { health }");
        documents.reuse(&mut second);
        assert_eq!(operations(&mut second), ["B"]);
        // Another text gets nothing: it parses its own.
        let mut third = request("query C { health }");
        documents.reuse(&mut third);
        assert_eq!(operations(&mut third), ["C"]);
    }

    #[test]
    fn a_text_that_does_not_parse_is_too_long_or_holds_a_string_is_not_kept() {
        let documents = Documents::default();
        documents.keep(&mut request("query {"));
        documents.keep(&mut request(&format!(
            "{{ health }} #{}",
            "x".repeat(MAX_TEXT)
        )));
        assert_eq!(documents.len(), 0);
    }

    #[test]
    fn a_full_cache_starts_afresh() {
        let documents = Documents::default();
        for n in 0..CAPACITY {
            documents.keep(&mut request(&format!("query Q{n} {{ health }}")));
        }
        assert_eq!(documents.len(), CAPACITY);
        documents.keep(&mut request("query Last { health }"));
        assert_eq!(documents.len(), 1);
    }
}
