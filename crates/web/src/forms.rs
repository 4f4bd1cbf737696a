//! Form fields with their labels, hints and errors, the same way everywhere (WCAG 2.1 AA):
//! every field has a `<label>` (or a `<legend>` for a group), a hint and an error are tied to it
//! with `aria-describedby`, a field in error says so with `aria-invalid` and a red bar *and* the
//! word "Fout:", and an error summary at the top links to each field.

use maud::{html, Markup};

/// A submitted form's fields, in order (a group of checkboxes repeats its name).
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; `None` when absent or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name` (a checkbox group).
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether these are the values of a submitted form (every form of a signed-in page carries
    /// its CSRF token) rather than a fresh form's preset choices: defaults fill only a fresh form.
    pub(crate) fn submitted(&self) -> bool {
        self.0.iter().any(|(k, _)| k == "_csrf")
    }
}

/// What is wrong with a submitted form: per field, and as a whole.
#[derive(Debug, Default, Clone)]
pub(crate) struct Errors {
    /// Errors not tied to one field (a conflict, a rule about the whole history).
    pub(crate) general: Vec<String>,
    /// (field name, sentence).
    pub(crate) fields: Vec<(String, String)>,
}

impl Errors {
    pub(crate) fn field(&mut self, name: &str, message: impl Into<String>) {
        if self.on(name).is_none() {
            self.fields.push((name.to_owned(), message.into()));
        }
    }

    pub(crate) fn general(&mut self, message: impl Into<String>) {
        self.general.push(message.into());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.general.is_empty() && self.fields.is_empty()
    }

    /// The error of field `name`.
    pub(crate) fn on(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, m)| m.as_str())
    }

    /// The error summary at the top of a form: focused on load (`app.js`), each field error a
    /// link to its field.
    pub(crate) fn summary(&self) -> Markup {
        if self.is_empty() {
            return html! {};
        }
        html! {
            div class="jp-alert jp-alert--error" role="alert" tabindex="-1" data-error-summary
                aria-labelledby="fouten-titel" {
                h2 id="fouten-titel" { "Er is iets niet goed gegaan" }
                ul {
                    @for message in &self.general { li { (message) } }
                    @for (field, message) in &self.fields {
                        li { a href={ "#" (id(field)) } { (capitalise(message)) } }
                    }
                }
                p { "Er is niets vastgelegd." }
            }
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// The element id of field `name`.
pub(crate) fn id(name: &str) -> String {
    format!("veld-{name}")
}

/// What a widget needs: the values to show again and the errors to show beside them.
#[derive(Clone, Copy)]
pub(crate) struct Form<'a> {
    pub(crate) values: &'a Fields,
    pub(crate) errors: &'a Errors,
}

/// A choice in a select, radio group or checkbox group.
pub(crate) struct Choice {
    pub(crate) value: String,
    pub(crate) label: String,
}

impl Choice {
    pub(crate) fn new(value: impl Into<String>, label: impl Into<String>) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
        }
    }
}

/// Options of a text-like input.
#[derive(Default, Clone, Copy)]
pub(crate) struct Input<'a> {
    pub(crate) hint: Option<&'a str>,
    pub(crate) default: Option<&'a str>,
    pub(crate) required: bool,
    /// `text` (default), `date`, `number`, `search`, `password`.
    pub(crate) kind: Option<&'a str>,
    pub(crate) short: bool,
    /// A `max` (for dates: today).
    pub(crate) max: Option<&'a str>,
    pub(crate) min: Option<&'a str>,
    pub(crate) inputmode: Option<&'a str>,
    pub(crate) autocomplete: Option<&'a str>,
    /// Checked in the page with the elfproef (`app.js`).
    pub(crate) bsn: bool,
    /// Never show a submitted value again (a BSN).
    pub(crate) no_echo: bool,
    /// No "(niet verplicht)" after the label: a search form whose every field is optional says
    /// so once.
    pub(crate) plain_label: bool,
}

impl<'a> Form<'a> {
    fn described(&self, name: &str, hint: bool) -> Option<String> {
        let mut ids = Vec::new();
        if hint {
            ids.push(format!("{}-hint", id(name)));
        }
        if self.errors.on(name).is_some() {
            ids.push(format!("{}-fout", id(name)));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn error(&self, name: &str) -> Markup {
        html! {
            @if let Some(message) = self.errors.on(name) {
                span class="jp-error" id={ (id(name)) "-fout" } { (message) }
            }
        }
    }

    fn field_class(&self, name: &str) -> &'static str {
        if self.errors.on(name).is_some() {
            "jp-field jp-field--error"
        } else {
            "jp-field"
        }
    }

    /// A text (or date, number, …) input.
    pub(crate) fn input(&self, name: &str, label: &str, options: Input<'_>) -> Markup {
        let value = if options.no_echo {
            None
        } else {
            self.values.get(name).or(if self.values.submitted() {
                None
            } else {
                options.default
            })
        };
        let date = options.kind == Some("date");
        let value = value.map(|v| {
            // Dates are written the Dutch way whatever the browser's language: a text field
            // `dd-mm-jjjj` (app.js adds a date picker beside it), never `<input type="date">`,
            // which shows the browser's own format.
            if date {
                crate::format::parse_date_input(v)
                    .map_or_else(|| v.to_owned(), jeugdpad_domain::date_nl)
            } else {
                v.to_owned()
            }
        });
        let kind = if date {
            "text"
        } else {
            options.kind.unwrap_or("text")
        };
        let inputmode = if date {
            Some("numeric")
        } else {
            options.inputmode
        };
        let invalid = self.errors.on(name).map(|_| "true");
        html! {
            div class=(self.field_class(name)) {
                label class="jp-label" for=(id(name)) {
                    (label)
                    @if !options.required && !options.plain_label { " (niet verplicht)" }
                }
                @if let Some(hint) = options.hint {
                    span class="jp-hint" id={ (id(name)) "-hint" } { (hint) }
                }
                (self.error(name))
                input type=(kind) id=(id(name)) name=(name)
                    class=[options.short.then_some("jp-input--short")]
                    value=[value]
                    required[options.required]
                    max=[options.max.filter(|_| !date)] min=[options.min.filter(|_| !date)]
                    data-date[date] data-max=[options.max.filter(|_| date)]
                    inputmode=[inputmode]
                    autocomplete=[options.autocomplete]
                    data-bsn[options.bsn]
                    data-bsn-optional[options.bsn && !options.required]
                    aria-invalid=[invalid]
                    aria-describedby=[self.described(name, options.hint.is_some())];
            }
        }
    }

    /// A multi-line text.
    pub(crate) fn textarea(
        &self,
        name: &str,
        label: &str,
        hint: Option<&str>,
        required: bool,
    ) -> Markup {
        let invalid = self.errors.on(name).map(|_| "true");
        html! {
            div class=(self.field_class(name)) {
                label class="jp-label" for=(id(name)) {
                    (label) @if !required { " (niet verplicht)" }
                }
                @if let Some(hint) = hint {
                    span class="jp-hint" id={ (id(name)) "-hint" } { (hint) }
                }
                (self.error(name))
                textarea id=(id(name)) name=(name) required[required] aria-invalid=[invalid]
                    aria-describedby=[self.described(name, hint.is_some())] {
                    (self.values.get(name).unwrap_or_default())
                }
            }
        }
    }

    /// A select; `groups` are `(group label, choices)`, a group label `""` for no group.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn select(
        &self,
        name: &str,
        label: &str,
        hint: Option<&str>,
        groups: &[(String, Vec<Choice>)],
        default: Option<&str>,
        required: bool,
        toggles: Option<(&str, &str)>,
    ) -> Markup {
        let chosen = self.values.get(name).or(default);
        let invalid = self.errors.on(name).map(|_| "true");
        html! {
            div class=(self.field_class(name)) {
                label class="jp-label" for=(id(name)) {
                    (label) @if !required { " (niet verplicht)" }
                }
                @if let Some(hint) = hint {
                    span class="jp-hint" id={ (id(name)) "-hint" } { (hint) }
                }
                (self.error(name))
                select id=(id(name)) name=(name) required[required] aria-invalid=[invalid]
                    aria-describedby=[self.described(name, hint.is_some())]
                    data-toggles=[toggles.map(|t| t.0)] data-when=[toggles.map(|t| t.1)] {
                    @if !required || chosen.is_none() {
                        option value="" { "— Kies —" }
                    }
                    @for (group, choices) in groups {
                        @if group.is_empty() {
                            @for choice in choices { (option(choice, chosen)) }
                        } @else {
                            optgroup label=(group) {
                                @for choice in choices { (option(choice, chosen)) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A group of radio buttons.
    pub(crate) fn radios(
        &self,
        name: &str,
        legend: &str,
        hint: Option<&str>,
        choices: &[Choice],
        default: Option<&str>,
        inline: bool,
    ) -> Markup {
        let chosen = self.values.get(name).or(default);
        self.group(name, legend, hint, inline, html! {
            @for (i, choice) in choices.iter().enumerate() {
                div class="jp-choice" {
                    input type="radio" id={ (id(name)) "-" (i) } name=(name) value=(choice.value)
                        checked[chosen == Some(choice.value.as_str())] required;
                    label for={ (id(name)) "-" (i) } { (choice.label) }
                }
            }
        })
    }

    /// A group of checkboxes (several may be chosen).
    pub(crate) fn checkboxes(
        &self,
        name: &str,
        legend: &str,
        hint: Option<&str>,
        choices: &[Choice],
    ) -> Markup {
        let chosen = self.values.all(name);
        self.group(name, legend, hint, false, html! {
            @for (i, choice) in choices.iter().enumerate() {
                div class="jp-choice" {
                    input type="checkbox" id={ (id(name)) "-" (i) } name=(name) value=(choice.value)
                        checked[chosen.contains(&choice.value.as_str())];
                    label for={ (id(name)) "-" (i) } { (choice.label) }
                }
            }
        })
    }

    /// One checkbox on its own.
    pub(crate) fn checkbox(&self, name: &str, label: &str) -> Markup {
        html! {
            div class="jp-field" {
                div class="jp-choice" {
                    input type="checkbox" id=(id(name)) name=(name) value="ja"
                        checked[self.values.get(name).is_some()];
                    label for=(id(name)) { (label) }
                }
            }
        }
    }

    fn group(
        &self,
        name: &str,
        legend: &str,
        hint: Option<&str>,
        inline: bool,
        choices: Markup,
    ) -> Markup {
        html! {
            fieldset class=(self.field_class(name)) id=(id(name))
                aria-describedby=[self.described(name, hint.is_some())] {
                legend { (legend) }
                @if let Some(hint) = hint {
                    span class="jp-hint" id={ (id(name)) "-hint" } { (hint) }
                }
                (self.error(name))
                div class={ "jp-choices" @if inline { " jp-choices--inline" } } { (choices) }
            }
        }
    }
}

fn option(choice: &Choice, chosen: Option<&str>) -> Markup {
    html! {
        option value=(choice.value) selected[chosen == Some(choice.value.as_str())] { (choice.label) }
    }
}
