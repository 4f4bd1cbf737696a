//! Parsed GraphQL documents, by their text.
//!
//! The web app and the scripts send the same few query texts over and over, with other
//! variables; parsing one took more of a timeline request's time than reading the timeline.
//! A document parsed for a signed-in caller is kept and handed to the next request with the
//! same text; validation, the depth and complexity limits and execution still run every time.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::types::ExecutableDocument;

/// Documents kept at most. When a new text finds the cache full, it starts afresh: memory stays
/// bounded whatever callers send, and the texts in use come back at once.
const CAPACITY: usize = 256;

/// Longer query texts are parsed every time (the web app's longest is a few kilobytes).
const MAX_TEXT: usize = 16 * 1024;

/// The cache (one per router).
#[derive(Debug, Default)]
pub(super) struct Documents {
    parsed: Mutex<HashMap<String, ExecutableDocument>>,
}

impl Documents {
    /// Gives `request` the document parsed earlier from the same text, if any.
    pub(super) fn reuse(&self, request: &mut async_graphql::Request) {
        let found = self.lock().get(&request.query).cloned();
        if let Some(document) = found {
            request.set_parsed_query(document);
        }
    }

    /// Keeps `request`'s document for the next request with the same text. Only for a caller
    /// who signed in, so that nobody without a token can fill the cache; a text that does not
    /// parse is not kept.
    pub(super) fn keep(&self, request: &mut async_graphql::Request) {
        if request.query.len() > MAX_TEXT || self.lock().contains_key(&request.query) {
            return;
        }
        let Ok(document) = request.parsed_query() else {
            return;
        };
        let document = document.clone();
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ExecutableDocument>> {
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

    #[test]
    fn a_kept_document_is_handed_to_the_next_request_with_the_same_text() {
        let documents = Documents::default();
        let mut first = request("query A { health }");
        documents.keep(&mut first);
        assert_eq!(documents.len(), 1);
        let mut second = request("query A { health }");
        documents.reuse(&mut second);
        // Parsed already: asking for it now cannot fail, whatever it holds.
        let names: Vec<String> = match &second.parsed_query().expect("parsed").operations {
            async_graphql::parser::types::DocumentOperations::Multiple(map) => {
                map.keys().map(|k| k.to_string()).collect()
            }
            async_graphql::parser::types::DocumentOperations::Single(_) => Vec::new(),
        };
        assert_eq!(names, ["A"]);
        // Another text gets nothing.
        let mut other = request("{ health }");
        documents.reuse(&mut other);
        assert_eq!(documents.len(), 1);
    }

    #[test]
    fn a_text_that_does_not_parse_or_is_too_long_is_not_kept() {
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
