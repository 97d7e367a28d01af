// Starts the console: loads the build's wasm-bindgen module and its wasm, named by the tag that
// Trunk writes into index.html (`pattern_script` in Trunk.toml). A file rather than Trunk's
// inline script, so the Content-Security-Policy allows no inline script at all.
// The operator's colour theme, if they chose one (src/theme.rs), before anything shows.
try {
  const theme = localStorage.getItem('leadcard.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch {
  // No storage (a private window): the system's theme.
}
// The page's language (src/browser/i18n.rs): the choice this browser keeps (the operator's, from the
// server), else the first of the browser's languages the console speaks; for Russian, its texts,
// fetched before the app starts (an English page fetches none). Told to the app by `<html lang>`.
const SPOKEN = ['en', 'ru'];
let language = null;
try {
  language = localStorage.getItem('leadcard.language');
} catch {
  // No storage: the browser's languages.
}
if (!SPOKEN.includes(language)) {
  const tags = [...(navigator.languages || []), navigator.language, 'en'];
  language = tags.map((t) => String(t).split('-')[0].toLowerCase()).find((c) => SPOKEN.includes(c));
}
if (language !== 'en') {
  try {
    const answer = await fetch(`/locales/${language}.json`);
    if (answer.ok) globalThis.leadcardTexts = await answer.json();
  } catch {
    // Offline or refused: the page shows English.
  }
}
document.documentElement.lang = globalThis.leadcardTexts ? language : 'en';
const tag = document.querySelector('script[data-wasm]');
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
