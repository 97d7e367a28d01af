//! The product's languages and its catalogue of texts: one file per language in `locales/`
//! (`en.json` is the list of keys; build.rs turns it into the [`k`] constants), read by the app, the
//! server's pages and mails and the widget alike. A text is `{name}` placeholders in a string, or
//! an object of plural forms by CLDR category (`one`, `few`, `many`, `other`; English needs only
//! `one` and `other`), the count being the `{count}` placeholder.

use std::borrow::Cow;

include!(concat!(env!("OUT_DIR"), "/keys.rs"));

#[cfg(not(target_arch = "wasm32"))]
include!(concat!(env!("OUT_DIR"), "/ru.rs"));

/// The served Russian table (a JSON array: [`CATALOGUE_HASH`], then the texts in the keys' order, a
/// plural's forms joined by U+001F in the order one, few, many, other), fetched by the page only
/// when it shows Russian.
#[cfg(not(target_arch = "wasm32"))]
pub const RU_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/ru.json"));

/// The codes [`Language::parse`] takes, as the API document's pattern (a unit test holds them equal).
pub const LANGUAGE_PATTERN: &str = "^(en|ru)$";

/// A language the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    En,
    Ru,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Ru];

    /// Its code, as the API and `<html lang>` write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ru => "ru",
        }
    }

    /// Its own name ("Русский"), the same in every language, as language switches show it.
    pub fn name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Ru => "Русский",
        }
    }

    /// A code as the API takes it: exactly `en` or `ru`.
    pub fn parse(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.as_str() == code)
    }

    /// The language of a BCP 47 tag (`ru-RU` -> Russian), if the product speaks it.
    pub fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        Language::ALL.into_iter().find(|l| primary.eq_ignore_ascii_case(l.as_str()))
    }

    /// The first of a browser's languages (most wanted first) the product speaks; else English.
    pub fn of_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Language {
        tags.into_iter().find_map(Language::of_tag).unwrap_or_default()
    }

    /// An `Accept-Language` header's choice (`ru-RU,ru;q=0.9,en;q=0.8`): the weightiest tag the
    /// product speaks; else English.
    pub fn of_accept_language(header: &str) -> Language {
        let mut best: Option<(f32, Language)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(language) = Language::of_tag(parts.next().unwrap_or_default().trim()) else { continue };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            if weight > 0.0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, language));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    /// A whole number as this language writes it: "1,234,567" in English, "1 234 567" in
    /// Russian (a no-break space between groups, as `Intl.NumberFormat` writes it).
    pub fn number(self, n: u64) -> String {
        let separator = match self {
            Language::En => ',',
            Language::Ru => '\u{a0}',
        };
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 2);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(separator);
            }
            out.push(c);
        }
        out
    }

    /// A place in a row: "1st", "2nd", "11th" in English; "1-й" in Russian.
    pub fn ordinal(self, n: u64) -> String {
        match self {
            Language::En => {
                let suffix = match (n % 10, n % 100) {
                    (_, 11..=13) => "th",
                    (1, _) => "st",
                    (2, _) => "nd",
                    (3, _) => "rd",
                    _ => "th",
                };
                format!("{n}{suffix}")
            }
            Language::Ru => format!("{n}-й"),
        }
    }

    /// The CLDR plural category of a whole number in this language.
    pub fn plural_category(self, n: u64) -> &'static str {
        match self {
            Language::En if n == 1 => "one",
            Language::En => "other",
            Language::Ru => match (n % 10, n % 100) {
                (1, r) if r != 11 => "one",
                (2..=4, r) if !(12..=14).contains(&r) => "few",
                _ => "many",
            },
        }
    }
}

/// A text of the catalogue: its place in the tables and its English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub index: u16,
    pub en: &'static str,
}

impl Text {
    pub const fn new(index: u16, en: &'static str) -> Text {
        Text { index, en }
    }

    /// The text in `language` (the server's pages and mails).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn get(self, language: Language) -> &'static str {
        match language {
            Language::En => self.en,
            Language::Ru => RU[usize::from(self.index)],
        }
    }
}

/// A text with plural forms: its place in the tables and its English forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plural {
    pub index: u16,
    pub one: &'static str,
    pub other: &'static str,
}

impl Plural {
    pub const fn new(index: u16, one: &'static str, other: &'static str) -> Plural {
        Plural { index, one, other }
    }

    /// The form for `category` from a table row (forms joined by U+001F in the order one, few,
    /// many, other), `other` when the row has none for it.
    pub fn form_of_row<'a>(row: &'a str, category: &str) -> Option<&'a str> {
        let at = ["one", "few", "many", "other"].iter().position(|c| *c == category).unwrap_or(3);
        let mut forms = row.split('\u{1f}');
        let form = forms.clone().nth(at).filter(|f| !f.is_empty());
        form.or_else(|| forms.nth(3).filter(|f| !f.is_empty()))
    }

    /// The English form for `category`.
    pub fn en_form(self, category: &str) -> &'static str {
        if category == "one" { self.one } else { self.other }
    }

    /// The text for `n` in `language`, `{count}` written as the language writes numbers (mails, pages).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn get(self, language: Language, n: u64) -> String {
        let category = language.plural_category(n);
        let form = match language {
            Language::En => self.en_form(category),
            Language::Ru => Plural::form_of_row(RU[usize::from(self.index)], category).unwrap_or(self.other),
        };
        fill(form, &[("count", &language.number(n))])
    }
}

/// A text with its `{name}` placeholders replaced; a placeholder not given stays as it is.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}');
        let value = close.and_then(|close| args.iter().find(|(name, _)| *name == &after[..close]));
        match (close, value) {
            (Some(close), Some((_, value))) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A sentence for people, not yet in a language: a text of the catalogue with its placeholders'
/// values, put into the reader's language where it is shown (the server's answer in the request's
/// language, the page in its own). A value is a message too: a name, a number or a field is
/// [`Message::plain`] (shown as it is), a reason can be a text of its own ("A tag {reason}.").
/// Shown by `Display` in English (logs, tests, the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message(Box<Said>);

/// A message's parts (boxed: a message travels in every error, which stays small).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Said {
    form: Form,
    args: Vec<(Cow<'static, str>, Message)>,
    /// Shown as a sentence: its first letter capital, a full stop at its end.
    sentence: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    Text(Text),
    Count(Plural, u64),
    Number(u64),
    Ordinal(u64),
    Plain(String),
}

/// Where a message finds its texts: the tables of one language.
pub trait Texts {
    /// A text in this language.
    fn text(&self, text: Text) -> &str;
    /// A counted text in this language, its `{count}` written as this language writes numbers.
    fn count(&self, text: Plural, n: u64) -> String;
    /// A whole number as this language writes it.
    fn number(&self, n: u64) -> String;
    /// A place in a row as this language writes it: "3rd" (English unless the language says).
    fn ordinal(&self, n: u64) -> String {
        Language::En.ordinal(n)
    }
}

/// English, compiled in.
pub struct English;

impl Texts for English {
    fn text(&self, text: Text) -> &str {
        text.en
    }

    fn count(&self, text: Plural, n: u64) -> String {
        fill(text.en_form(Language::En.plural_category(n)), &[("count", &Language::En.number(n))])
    }

    fn number(&self, n: u64) -> String {
        Language::En.number(n)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Texts for Language {
    fn text(&self, text: Text) -> &str {
        text.get(*self)
    }

    fn count(&self, text: Plural, n: u64) -> String {
        text.get(*self, n)
    }

    fn number(&self, n: u64) -> String {
        Language::number(*self, n)
    }

    fn ordinal(&self, n: u64) -> String {
        Language::ordinal(*self, n)
    }
}

impl Message {
    /// A text of the catalogue.
    pub fn new(text: Text) -> Message {
        Message(Box::new(Said { form: Form::Text(text), args: Vec::new(), sentence: false }))
    }

    /// A counted text of the catalogue (its `{count}` is `n`).
    pub fn count(text: Plural, n: u64) -> Message {
        Message(Box::new(Said { form: Form::Count(text, n), args: Vec::new(), sentence: false }))
    }

    /// A whole number, written as the reader's language writes numbers.
    pub fn number(n: u64) -> Message {
        Message(Box::new(Said { form: Form::Number(n), args: Vec::new(), sentence: false }))
    }

    /// A place in a row ("3rd"), written as the reader's language writes it.
    pub fn ordinal(n: u64) -> Message {
        Message(Box::new(Said { form: Form::Ordinal(n), args: Vec::new(), sentence: false }))
    }

    /// Words that are the same in every language: a name, a value, an identifier.
    pub fn plain(text: impl Into<String>) -> Message {
        Message(Box::new(Said { form: Form::Plain(text.into()), args: Vec::new(), sentence: false }))
    }

    /// The placeholder `{name}` filled with `value` as it is.
    pub fn arg(self, name: &'static str, value: impl std::fmt::Display) -> Message {
        self.with(name, Message::plain(value.to_string()))
    }

    /// The placeholder `{name}` filled with another message, in the same language.
    pub fn with(mut self, name: &'static str, value: impl Into<Message>) -> Message {
        self.0.args.push((Cow::Borrowed(name), value.into()));
        self
    }

    /// The same words as a sentence of their own ("the lead has no email address" -> "The lead has
    /// no email address."), in every language.
    pub fn sentence(mut self) -> Message {
        self.0.sentence = true;
        self
    }

    /// The message in the language of `texts`.
    pub fn render(&self, texts: &dyn Texts) -> String {
        let template = match &self.0.form {
            Form::Text(text) => texts.text(*text).to_owned(),
            Form::Count(text, n) => texts.count(*text, *n),
            Form::Number(n) => texts.number(*n),
            Form::Ordinal(n) => texts.ordinal(*n),
            Form::Plain(text) => text.clone(),
        };
        let text = if self.0.args.is_empty() {
            template
        } else {
            let values: Vec<(&str, String)> =
                self.0.args.iter().map(|(name, m)| (name.as_ref(), m.render(texts))).collect();
            let args: Vec<(&str, &str)> = values.iter().map(|(name, v)| (*name, v.as_str())).collect();
            fill(&template, &args)
        };
        if self.0.sentence { as_sentence(&text) } else { text }
    }

    /// The message in `language` (the server's answers, pages and mails).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn in_language(&self, language: Language) -> String {
        self.render(&language)
    }
}

/// A text of the catalogue, either kind (stored messages name them by key).
#[derive(Debug, Clone, Copy)]
enum Entry {
    Text(Text),
    Plural(Plural),
}

/// A message as a database keeps it, to be put into each reader's language when read: the texts
/// by key (their place in the tables changes as the catalogue grows), values as they are.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    a: Vec<(String, Stored)>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    s: bool,
}

/// What a stored message starts with (a stored text that does not is words as they are).
const STORED_PREFIX: &str = "{\"m\":";

impl Message {
    /// The message as a database keeps it (reasons in a lead's timeline and subscription): read
    /// back with [`Message::from_stored`] and shown in each reader's language. Plain words are
    /// kept as they are.
    pub fn to_stored(&self) -> String {
        match &self.0.form {
            Form::Plain(text) if self.0.args.is_empty() && !self.0.sentence => text.clone(),
            _ => format!("{STORED_PREFIX}{}}}", serde_json::to_string(&self.stored()).unwrap_or_default()),
        }
    }

    fn stored(&self) -> Stored {
        let key = |index: u16| ENTRIES.get(usize::from(index)).map(|(key, _)| (*key).to_owned());
        let mut stored = Stored { k: None, n: None, o: None, p: None, a: Vec::new(), s: self.0.sentence };
        match &self.0.form {
            Form::Text(text) => stored.k = key(text.index),
            Form::Count(text, n) => (stored.k, stored.n) = (key(text.index), Some(*n)),
            Form::Number(n) => stored.n = Some(*n),
            Form::Ordinal(n) => stored.o = Some(*n),
            Form::Plain(text) => stored.p = Some(text.clone()),
        }
        stored.a = self.0.args.iter().map(|(name, m)| (name.to_string(), m.stored())).collect();
        stored
    }

    /// A text a database keeps: a stored message ([`Message::to_stored`]), else words as they
    /// are (what older versions stored, a mail server's bounce reason). A message naming a text
    /// the catalogue no longer has is shown as the stored text itself.
    pub fn from_stored(text: &str) -> Message {
        text.strip_prefix(STORED_PREFIX)
            .and_then(|rest| rest.strip_suffix('}'))
            .and_then(|json| serde_json::from_str::<Stored>(json).ok())
            .and_then(Message::of_stored)
            .unwrap_or_else(|| Message::plain(text))
    }

    fn of_stored(stored: Stored) -> Option<Message> {
        let entry = |key: &str| ENTRIES.binary_search_by(|(k, _)| (*k).cmp(key)).ok().map(|i| ENTRIES[i].1);
        let form = match (stored.k.as_deref(), stored.n, stored.o, stored.p) {
            (Some(key), None, None, None) => match entry(key)? {
                Entry::Text(text) => Form::Text(text),
                Entry::Plural(_) => return None,
            },
            (Some(key), Some(n), None, None) => match entry(key)? {
                Entry::Plural(text) => Form::Count(text, n),
                Entry::Text(_) => return None,
            },
            (None, Some(n), None, None) => Form::Number(n),
            (None, None, Some(n), None) => Form::Ordinal(n),
            (None, None, None, Some(text)) => Form::Plain(text),
            _ => return None,
        };
        let args = stored
            .a
            .into_iter()
            .map(|(name, value)| Some((Cow::Owned(name), Message::of_stored(value)?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Message(Box::new(Said { form, args, sentence: stored.s })))
    }
}

/// `text` with a capital first letter and a full stop, unless it ends in one already.
fn as_sentence(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else { return String::new() };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(&English))
    }
}

impl From<Text> for Message {
    fn from(text: Text) -> Message {
        Message::new(text)
    }
}

/// Compares the English.
impl PartialEq<str> for Message {
    fn eq(&self, other: &str) -> bool {
        self.render(&English) == other
    }
}

/// Compares the English.
impl PartialEq<&str> for Message {
    fn eq(&self, other: &&str) -> bool {
        self.render(&English) == *other
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::Value;

    use super::*;

    #[test]
    fn the_documents_language_pattern_is_the_languages_codes() {
        let codes: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(LANGUAGE_PATTERN, format!("^({})$", codes.join("|")));
    }

    #[cfg(feature = "openapi")]
    #[test]
    fn the_document_states_the_language_pattern() {
        use utoipa::PartialSchema;
        let pattern = Value::String(LANGUAGE_PATTERN.to_owned()).to_string();
        for schema in [crate::wire::AccountSettings::schema(), crate::wire::Operator::schema()] {
            let schema = serde_json::to_string(&schema).unwrap();
            assert!(schema.contains(&format!("\"pattern\":{pattern}")), "{schema}");
        }
    }

    const CATALOGUES: [(&str, &str); 2] =
        [("en", include_str!("../../../locales/en.json")), ("ru", include_str!("../../../locales/ru.json"))];

    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else { break };
            found.insert(rest[open + 1..open + close].to_owned());
            rest = &rest[open + close + 1..];
        }
        found
    }

    /// Every form of an entry: (category or "", text).
    fn forms(value: &Value) -> Vec<(String, String)> {
        match value {
            Value::String(s) => vec![(String::new(), s.clone())],
            Value::Object(forms) => {
                forms.iter().map(|(c, v)| (c.clone(), v.as_str().unwrap_or_default().to_owned())).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The test that fails when a catalogue misses a string: every catalogue has exactly the
    /// English catalogue's keys, each a string where English has a string and the language's
    /// plural forms where English has plural forms, with the same placeholders, none empty.
    #[test]
    fn every_catalogue_has_exactly_the_english_keys_and_placeholders() {
        let parsed: Vec<(&str, BTreeMap<String, Value>)> = CATALOGUES
            .iter()
            .map(|(code, text)| (*code, serde_json::from_str(text).unwrap_or_else(|e| panic!("{code}.json: {e}"))))
            .collect();
        let english = &parsed[0].1;
        let mut problems = Vec::new();
        for (code, catalogue) in &parsed {
            let wanted: &[&str] = if *code == "ru" { &["few", "many", "one", "other"] } else { &["one", "other"] };
            for key in english.keys().filter(|k| !catalogue.contains_key(*k)) {
                problems.push(format!("{code}.json: missing {key:?}"));
            }
            for key in catalogue.keys().filter(|k| !english.contains_key(*k)) {
                problems.push(format!("{code}.json: {key:?} is not in en.json"));
            }
            for (key, value) in catalogue.iter().filter(|(k, _)| english.contains_key(*k)) {
                let en = &english[key];
                let en_places = forms(en).iter().map(|(_, t)| placeholders(t)).next_back().unwrap_or_default();
                match (en, value) {
                    (Value::String(_), Value::String(_)) => {}
                    (Value::Object(_), Value::Object(forms)) => {
                        let mut categories: Vec<&str> = forms.keys().map(String::as_str).collect();
                        categories.sort_unstable();
                        if categories != wanted {
                            problems.push(format!("{code}.json: {key:?} has forms {categories:?}, wants {wanted:?}"));
                        }
                    }
                    _ => problems.push(format!("{code}.json: {key:?} is not the same kind of entry as in en.json")),
                }
                for (category, text) in forms(value) {
                    if text.trim().is_empty() {
                        problems.push(format!("{code}.json: {key:?} {category} is empty"));
                    }
                    let mut places = placeholders(&text);
                    let mut expected = en_places.clone();
                    if !category.is_empty() {
                        // A form for a single number ("one" in Russian: 1, 21, 31...) names it too.
                        places.remove("count");
                        expected.remove("count");
                    }
                    if places != expected {
                        problems.push(format!("{code}.json: {key:?} {category} has {places:?}, en.json {expected:?}"));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn russian_plural_categories_follow_cldr() {
        for (n, category) in [
            (0, "many"),
            (1, "one"),
            (2, "few"),
            (4, "few"),
            (5, "many"),
            (11, "many"),
            (12, "many"),
            (14, "many"),
            (21, "one"),
            (22, "few"),
            (25, "many"),
            (101, "one"),
            (111, "many"),
        ] {
            assert_eq!(Language::Ru.plural_category(n), category, "{n}");
        }
        assert_eq!(Language::En.plural_category(1), "one");
        assert_eq!(Language::En.plural_category(0), "other");
    }

    #[test]
    fn languages_are_read_from_tags_and_headers() {
        assert_eq!(Language::of_tags(["de-DE", "ru-RU", "en"]), Language::Ru);
        assert_eq!(Language::of_tags(["de-DE"]), Language::En);
        assert_eq!(Language::of_accept_language("de;q=1, ru-RU;q=0.9, en;q=0.8"), Language::Ru);
        assert_eq!(Language::of_accept_language("en-US,en;q=0.9,ru;q=0.8"), Language::En);
        assert_eq!(Language::of_accept_language("ru;q=0, fr"), Language::En);
        assert_eq!(Language::parse("ru"), Some(Language::Ru));
        assert_eq!(Language::parse("RU"), None);
        assert_eq!(Language::parse("de"), None);
    }

    #[test]
    fn stored_messages_come_back_in_each_readers_language() {
        let message = Message::new(k::ERROR_CHANNEL_REFUSED)
            .with("channel", k::CORE_CHANNEL_EMAIL)
            .with("reason", Message::count(k::COMMON_LEADS, 1_204))
            .with("extra", Message::ordinal(3))
            .sentence();
        let stored = message.to_stored();
        assert!(stored.contains("\"error.channel.refused\""), "{stored}");
        let back = Message::from_stored(&stored);
        assert_eq!(back, message);
        assert_eq!(back.in_language(Language::Ru), message.in_language(Language::Ru));
        // Words as they are stay words as they are, whatever they look like.
        for plain in ["550 5.1.1 mailbox does not exist", "{\"m\":{\"k\":\"no.such.key\"}}", "{\"m\":", ""] {
            assert_eq!(Message::from_stored(plain), Message::plain(plain), "{plain}");
        }
        assert_eq!(Message::plain("as is").to_stored(), "as is");
        let english: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 103, 111].map(|n| Language::En.ordinal(n)).into();
        assert_eq!(english, ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "103rd", "111th"]);
        assert_eq!(Language::Ru.ordinal(22), "22-й");
    }

    #[test]
    fn reasons_read_as_sentences() {
        let sentence = |text: &str| Message::plain(text).sentence().to_string();
        assert_eq!(sentence("the lead is already unsubscribed"), "The lead is already unsubscribed.");
        assert_eq!(sentence("Double Opt-In is off"), "Double Opt-In is off.");
        assert_eq!(sentence("Ready?"), "Ready?");
        assert_eq!(
            Message::plain("адрес не подтверждён").sentence().in_language(Language::Ru),
            "Адрес не подтверждён."
        );
    }

    #[test]
    fn messages_are_put_into_the_readers_language() {
        let message = Message::count(k::ERROR_RATE_LIMITED, 3);
        assert_eq!(message.to_string(), "Too many sign-in attempts. Try again in 3 seconds.");
        assert_eq!(message.in_language(Language::Ru), "Слишком много попыток входа. Попробуйте снова через 3 секунды.");
        let nested = Message::new(k::ERROR_CHANNEL_REFUSED)
            .with("channel", k::CORE_CHANNEL_EMAIL)
            .with("reason", Message::plain("x"));
        assert_eq!(nested.to_string(), "Email cannot be used for this lead now: x.");
        assert!(nested.in_language(Language::Ru).starts_with("Канал «"), "{}", nested.in_language(Language::Ru));
        assert_eq!(
            Message::new(k::ERROR_PAGE_SIZE).arg("max", 50).in_language(Language::Ru),
            "Размер страницы — число от 1 до 50."
        );
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        assert_eq!(fill("{name} wrote {n}", &[("name", "Anna"), ("n", "2")]), "Anna wrote 2");
        assert_eq!(fill("{x} and {", &[]), "{x} and {");
        assert_eq!(fill("{a}{a}", &[("a", "{a}")]), "{a}{a}");
    }

    #[test]
    fn the_tables_give_each_language_its_text() {
        assert_eq!(k::LANGUAGE_LABEL.get(Language::En), k::LANGUAGE_LABEL.en);
        assert_ne!(k::LANGUAGE_LABEL.get(Language::Ru), k::LANGUAGE_LABEL.en);
        assert_eq!(k::COMMON_LEADS.get(Language::Ru, 1), "1 лид");
        assert_eq!(k::COMMON_LEADS.get(Language::Ru, 2), "2 лида");
        assert_eq!(k::COMMON_LEADS.get(Language::Ru, 12_345), "12\u{a0}345 лидов");
        assert_eq!(k::COMMON_LEADS.get(Language::En, 12_345), "12,345 leads");
        assert_eq!(Language::En.number(1_234_567), "1,234,567");
        assert_eq!(Language::Ru.number(999), "999");
        assert_eq!(k::COMMON_LEADS.get(Language::Ru, 5), "5 лидов");
        assert_eq!(k::COMMON_LEADS.get(Language::En, 1), "1 lead");
        assert_eq!(k::COMMON_LEADS.get(Language::En, 5), "5 leads");
        let served: Vec<String> = serde_json::from_str(RU_JSON).unwrap();
        assert_eq!(served[0], CATALOGUE_HASH);
        assert_eq!(&served[1..], &RU[..]);
    }
}
