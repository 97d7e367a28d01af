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
const tag = document.querySelector('script[data-wasm]');
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
