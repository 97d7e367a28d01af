-- Location guesses: a property value tracking guessed for a visitor names its guess here
-- ('timezone': $country from the browser's time zone; 'browser': $timezone and $language as the
-- browser reports them; 'geoip': $city and $country from the visitor's IP address). NULL: the
-- value was set by the site, an operator or tracking's own facts, and no guess replaces it; a
-- guess replaces only a guess no better than itself (leadcard_core::location::GuessSource).
-- Every other write of a value sets it back to NULL.
ALTER TABLE lead_properties ADD COLUMN guessed_by TEXT;
