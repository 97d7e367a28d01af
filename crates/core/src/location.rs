//! Where a visitor is, guessed (SPEC section 3, location and local time): the browser's IANA time
//! zone and language, the tz database's zone -> country table, and which guess may replace which.
//!
//! The tables are the tz database's own files (public domain, `data/tz/`), parsed at first use:
//! `zones.txt` (every zone and link name, from tzdata.zi), `zone.tab` (the country of each zone)
//! and `iso3166.tab` (the English name of each country code). A new tz release: replace the three
//! files (the commands are in `zones.txt`'s header).

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::field::FieldError;
use crate::locale::k;

/// Longest time zone name accepted (the longest in the tz database has 32 characters).
pub const MAX_ZONE_CHARS: usize = 64;
/// Longest language tag accepted (BCP 47 tags a browser reports are far shorter).
pub const MAX_LANGUAGE_CHARS: usize = 35;

/// Who guessed a property's value. A value that is no guess (set by the site, an operator or
/// tracking's own facts) is never replaced by one; a guess is replaced by a guess as good or
/// better (a later visit's zone replaces an earlier one's, GeoIP replaces the zone's country).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GuessSource {
    /// `$country` from the browser's time zone (the zone's country in the tz database).
    TimeZone,
    /// `$timezone` and `$language` as the browser reports them.
    Browser,
    /// `$city` and `$country` from the visitor's IP address in a GeoIP database.
    GeoIp,
}

impl GuessSource {
    pub const ALL: [GuessSource; 3] = [GuessSource::TimeZone, GuessSource::Browser, GuessSource::GeoIp];

    /// As stored (`lead_properties.guessed_by`).
    pub fn as_str(self) -> &'static str {
        match self {
            GuessSource::TimeZone => "timezone",
            GuessSource::Browser => "browser",
            GuessSource::GeoIp => "geoip",
        }
    }

    pub fn parse(raw: &str) -> Option<GuessSource> {
        GuessSource::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// How good the guess is: a guess replaces stored guesses of this rank or lower.
    pub fn rank(self) -> u8 {
        match self {
            GuessSource::TimeZone => 1,
            GuessSource::Browser => 2,
            GuessSource::GeoIp => 3,
        }
    }

    /// Whether this guess may replace a stored value that `stored` guessed (`None`: the value was
    /// set by the site, an operator or tracking itself, and no guess replaces it).
    pub fn may_replace(self, stored: Option<GuessSource>) -> bool {
        stored.is_some_and(|stored| stored.rank() <= self.rank())
    }
}

/// One property a session start guesses for its lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyGuess {
    /// `$timezone`, `$language`, `$country` or `$city`.
    pub name: &'static str,
    pub value: String,
    pub source: GuessSource,
}

/// What a GeoIP database says about an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeoIpPlace {
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    pub country_code: Option<String>,
    /// The database's English country name, for a code the tz tables do not know.
    pub country_name: Option<String>,
}

/// The guesses of one session start, best first: GeoIP's city and country, the browser's zone and
/// language, and the zone's country when GeoIP gave none (GeoIP beats the zone).
pub fn location_guesses(zone: Option<&str>, language: Option<&str>, geoip: Option<&GeoIpPlace>) -> Vec<PropertyGuess> {
    let mut guesses = Vec::new();
    let guess = |name, value: &str, source| PropertyGuess { name, value: value.to_owned(), source };
    let clean = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let geo_country = geoip.and_then(|place| {
        let by_code = place.country_code.as_deref().and_then(country_name);
        by_code.map(str::to_owned).or_else(|| clean(&place.country_name))
    });
    if let Some(city) = geoip.and_then(|place| clean(&place.city)) {
        guesses.push(guess("$city", &city, GuessSource::GeoIp));
    }
    if let Some(country) = &geo_country {
        guesses.push(guess("$country", country, GuessSource::GeoIp));
    }
    if let Some(zone) = zone {
        guesses.push(guess("$timezone", zone, GuessSource::Browser));
        if geo_country.is_none()
            && let Some(country) = zone_country(zone).and_then(country_name)
        {
            guesses.push(guess("$country", country, GuessSource::TimeZone));
        }
    }
    if let Some(language) = language {
        guesses.push(guess("$language", language, GuessSource::Browser));
    }
    guesses
}

struct Tables {
    /// Every zone and link name -> the zone it stands for.
    zones: HashMap<&'static str, &'static str>,
    /// Zone (or link listed in zone.tab) -> country code.
    countries: HashMap<&'static str, &'static str>,
    /// Country code -> English name.
    names: HashMap<&'static str, &'static str>,
}

/// Names the tz database writes differently from what operators and GeoIP databases call the
/// country (and what filters and segments compare with).
const NAME_OVERRIDES: [(&str, &str); 1] = [("GB", "United Kingdom")];

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let lines = |text: &'static str| text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let mut zones = HashMap::new();
    for line in lines(include_str!("../data/tz/zones.txt")) {
        let mut fields = line.split_whitespace();
        match (fields.next(), fields.next(), fields.next()) {
            (Some("Z"), Some(zone), None) => {
                zones.insert(zone, zone);
            }
            (Some("L"), Some(target), Some(link)) => {
                zones.insert(link, target);
            }
            _ => {}
        }
    }
    let countries = lines(include_str!("../data/tz/zone.tab"))
        .filter_map(|l| {
            let mut fields = l.split('\t');
            let code = fields.next()?;
            Some((fields.nth(1)?, code))
        })
        .collect();
    let mut names: HashMap<_, _> =
        lines(include_str!("../data/tz/iso3166.tab")).filter_map(|l| l.split_once('\t')).collect();
    names.extend(NAME_OVERRIDES);
    Tables { zones, countries, names }
});

/// Whether `name` is a time zone (or a link to one) of the tz database, exactly as written.
pub fn is_known_zone(name: &str) -> bool {
    TABLES.zones.contains_key(name)
}

/// The country code of a zone (a link counts as its zone), when the zone is one country's.
pub fn zone_country(zone: &str) -> Option<&'static str> {
    let tables = &*TABLES;
    let (&name, &target) = tables.zones.get_key_value(zone)?;
    tables.countries.get(name).or_else(|| tables.countries.get(target)).copied()
}

/// The English name of an ISO 3166-1 alpha-2 code (any case).
pub fn country_name(code: &str) -> Option<&'static str> {
    TABLES.names.get(code.to_ascii_uppercase().as_str()).copied()
}

/// Checks the time zone a browser reported: text of up to 64 letters, digits and `/ _ + -`
/// (anything else is an error naming `field`). Returns the zone when the tz database knows it,
/// `None` for a well-formed name it does not (a newer release's zone): no guess is made from it.
pub fn check_zone<'a>(raw: &'a str, field: &str) -> Result<Option<&'a str>, FieldError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '-');
    if raw.is_empty() || raw.len() > MAX_ZONE_CHARS || !raw.chars().all(ok_char) {
        return Err(FieldError::new(field, k::CHECK_LOCATION_ZONE));
    }
    Ok(is_known_zone(raw).then_some(raw))
}

/// Checks a BCP 47 language tag (`de`, `en-US`, `zh-Hant-TW`): subtags of 1 to 8 letters or
/// digits joined by `-`, the first 2 or 3 letters; errors name `field`. Returns it in the usual
/// case: language lower, script title, region upper (`en-us` -> `en-US`).
pub fn check_language(raw: &str, field: &str) -> Result<String, FieldError> {
    let error = || FieldError::new(field, k::CHECK_LOCATION_LANGUAGE);
    if raw.len() > MAX_LANGUAGE_CHARS {
        return Err(error());
    }
    let mut parts = Vec::new();
    for (i, part) in raw.split(['-', '_']).enumerate() {
        if part.is_empty() || part.len() > 8 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(error());
        }
        let letters = part.chars().all(|c| c.is_ascii_alphabetic());
        if i == 0 && !(letters && (2..=3).contains(&part.len())) {
            return Err(error());
        }
        let part = match (i, part.len()) {
            (0, _) => part.to_ascii_lowercase(),
            (_, 4) if letters => {
                let lower = part.to_ascii_lowercase();
                lower[..1].to_ascii_uppercase() + &lower[1..]
            }
            (_, 2) if letters => part.to_ascii_uppercase(),
            _ => part.to_ascii_lowercase(),
        };
        parts.push(part);
    }
    Ok(parts.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_the_tz_databases_with_their_links() {
        for zone in ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Calcutta", "UTC", "Etc/GMT+5"] {
            assert!(is_known_zone(zone), "{zone}");
        }
        for zone in ["Europe/Atlantis", "europe/berlin", "Berlin", ""] {
            assert!(!is_known_zone(zone), "{zone}");
        }
        assert_eq!(check_zone("Europe/Berlin", "tz"), Ok(Some("Europe/Berlin")));
        assert_eq!(check_zone("Mars/Olympus_Mons", "tz"), Ok(None), "well-formed but unknown: no guess");
        assert_eq!(check_zone("Europe/Berlin\0", "tz").unwrap_err().field, "tz");
        assert!(check_zone("Europe Berlin", "tz").is_err());
        assert!(check_zone(&"A".repeat(65), "tz").is_err());
    }

    #[test]
    fn a_zone_gives_its_country() {
        assert_eq!(zone_country("Europe/Berlin"), Some("DE"));
        assert_eq!(zone_country("Europe/Copenhagen"), Some("DK"), "zone.tab's own row, not the zone it joined");
        assert_eq!(zone_country("Asia/Calcutta"), Some("IN"), "a link counts as its zone");
        assert_eq!(zone_country("US/Eastern"), Some("US"));
        assert_eq!(zone_country("UTC"), None, "no country's zone");
        assert_eq!(zone_country("Nowhere/Else"), None);
        assert_eq!(country_name("DE"), Some("Germany"));
        assert_eq!(country_name("jp"), Some("Japan"));
        assert_eq!(country_name("GB"), Some("United Kingdom"));
        assert_eq!(country_name("ZZ"), None);
        assert_eq!(zone_country("Asia/Tokyo").and_then(country_name), Some("Japan"));
    }

    #[test]
    fn language_tags_are_checked_and_cased() {
        assert_eq!(check_language("en-us", "lang"), Ok("en-US".to_owned()));
        assert_eq!(check_language("zh-hant-tw", "lang"), Ok("zh-Hant-TW".to_owned()));
        assert_eq!(check_language("de", "lang"), Ok("de".to_owned()));
        assert_eq!(check_language("es-419", "lang"), Ok("es-419".to_owned()));
        for bad in ["", "e", "english", "en--US", "en US", "12-US", "de\u{0}", "en-abcdefghi"] {
            assert_eq!(check_language(bad, "lang").unwrap_err().field, "lang", "{bad:?}");
        }
    }

    #[test]
    fn a_guess_replaces_only_guesses_no_better_than_itself() {
        use GuessSource::*;
        assert!(!TimeZone.may_replace(None), "a value set by the site or an operator stays");
        assert!(!GeoIp.may_replace(None));
        assert!(TimeZone.may_replace(Some(TimeZone)), "a later visit's zone");
        assert!(GeoIp.may_replace(Some(TimeZone)), "GeoIP beats the zone");
        assert!(!TimeZone.may_replace(Some(GeoIp)));
        for s in GuessSource::ALL {
            assert_eq!(GuessSource::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn a_session_start_guesses_best_first() {
        let names = |g: &[PropertyGuess]| g.iter().map(|g| (g.name, g.value.clone(), g.source)).collect::<Vec<_>>();
        let zone_only = location_guesses(Some("Asia/Tokyo"), Some("ja-JP"), None);
        assert_eq!(
            names(&zone_only),
            vec![
                ("$timezone", "Asia/Tokyo".to_owned(), GuessSource::Browser),
                ("$country", "Japan".to_owned(), GuessSource::TimeZone),
                ("$language", "ja-JP".to_owned(), GuessSource::Browser),
            ]
        );
        let place = GeoIpPlace { city: Some("Lyon".into()), country_code: Some("FR".into()), country_name: None };
        let with_geoip = location_guesses(Some("Asia/Tokyo"), None, Some(&place));
        assert_eq!(
            names(&with_geoip),
            vec![
                ("$city", "Lyon".to_owned(), GuessSource::GeoIp),
                ("$country", "France".to_owned(), GuessSource::GeoIp),
                ("$timezone", "Asia/Tokyo".to_owned(), GuessSource::Browser),
            ],
            "GeoIP's country, not the zone's"
        );
        let unknown_code =
            GeoIpPlace { city: None, country_code: Some("XK".into()), country_name: Some("Kosovo".into()) };
        assert_eq!(names(&location_guesses(None, None, Some(&unknown_code)))[0].1, "Kosovo");
        assert!(location_guesses(Some("UTC"), None, None).iter().all(|g| g.name != "$country"));
    }
}
