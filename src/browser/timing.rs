//! Timings the benchmark reads from the browser's Performance timeline (`cargo xtask bench` opens
//! the release app in headless Chromium and collects the `leadcard:*` measures).

use std::cell::Cell;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = mark)]
    fn mark(name: &str);
    #[wasm_bindgen(js_namespace = performance, js_name = measure)]
    fn measure(name: &str, start_mark: &str);
    #[wasm_bindgen(js_namespace = performance, js_name = clearMarks)]
    fn clear_marks(name: &str);
    #[wasm_bindgen(js_namespace = performance, js_name = clearMeasures)]
    fn clear_measures(name: &str);
}

/// Measures kept per name before the oldest are dropped (a page stays open all day).
const KEEP: u32 = 1000;

thread_local! {
    static COUNT: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` and records how long it took as the Performance measure `name`.
pub fn measured<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let start = format!("{name}:start");
    mark(&start);
    let out = f();
    let n = COUNT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    if n.is_multiple_of(KEEP) {
        clear_measures(name);
    }
    measure(name, &start);
    clear_marks(&start);
    out
}
