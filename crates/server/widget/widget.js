/* leadcard widget: sessions, page views and presence for leadcard, and window.leadcard for the
   site (identify, track). Plain script, no cookies; see docs/CONTRACT.md "The widget". */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-key][src*='widget.js']");
  if (!script || window.leadcard && window.leadcard.visitorId) return;
  var key = script.getAttribute("data-key");
  if (!key) {
    console.warn("leadcard: the widget's script tag needs data-key");
    return;
  }
  var origin = script.getAttribute("data-api") || new URL(script.src, location.href).origin;
  var api = origin.replace(/\/$/, "") + "/api/v1/track/";
  var beatMs = Math.max(1, Number(script.getAttribute("data-heartbeat-seconds")) || 60) * 1000;
  var SESSION_IDLE_MS = 30 * 60 * 1000;
  var queued = Array.isArray(window.leadcard) ? window.leadcard : [];
  var memory = {};

  // localStorage may be off (private modes, sandboxed frames): then ids last as long as the page.
  function load(name) {
    try {
      return localStorage.getItem(name);
    } catch (e) {
      return memory[name] || null;
    }
  }
  function save(name, value) {
    memory[name] = value;
    try {
      localStorage.setItem(name, value);
    } catch (e) {}
  }
  function newId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function cut(text, max) {
    return String(text || "").slice(0, max);
  }

  var visitorId = load("leadcard_visitor");
  if (!visitorId || !/^[A-Za-z0-9_.:-]{1,64}$/.test(visitorId)) {
    visitorId = newId();
    save("leadcard_visitor", visitorId);
  }

  // A session is shared by the site's tabs and ends after 30 minutes without activity: an idle
  // page keeps beating in its old session, and the next activity (`touch`) starts a new one.
  function session(touch) {
    var now = Date.now();
    var s = null;
    try {
      s = JSON.parse(load("leadcard_session"));
    } catch (e) {}
    var valid = s && typeof s.id === "string" && /^[A-Za-z0-9]{1,64}$/.test(s.id);
    var fresh = !valid || (touch && !(now - s.last < SESSION_IDLE_MS));
    if (fresh) s = { id: newId(), last: now };
    if (touch || fresh) {
      s.last = now;
      save("leadcard_session", JSON.stringify(s));
    }
    return { id: s.id, fresh: fresh };
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // Text bodies need no CORS preflight; the server reads them as JSON. Busy or rate-limited calls
  // are retried after Retry-After; the promise rejects with the server's ErrorBody.
  function send(path, body, retries) {
    body.key = key;
    body.visitor_id = visitorId;
    var text = JSON.stringify(body);
    return fetch(api + path, {
      method: "POST",
      body: text,
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      credentials: "omit",
      keepalive: text.length < 60000
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (response.ok) return json;
        if ((response.status === 503 || response.status === 429) && retries > 0) {
          var after = Number(response.headers.get("Retry-After")) || 1;
          return wait(after * 1000).then(function () { return send(path, body, retries - 1); });
        }
        throw json;
      });
    });
  }
  function quietly(promise) {
    return promise.catch(function (error) { console.debug("leadcard:", error); });
  }

  var lastUrl = null;
  function page() {
    return { url: cut(location.href, 2048), title: cut(document.title, 255) };
  }
  function pageView(s) {
    var p = page();
    var events = [];
    if (s.fresh) {
      events.push({ name: "$session_start", properties: { url: p.url, referrer: cut(document.referrer, 2048), title: p.title } });
    }
    events.push({ name: "$page_view", properties: { url: p.url, title: p.title } });
    lastUrl = location.href;
    return send("events", { session_id: s.id, events: events }, 2);
  }

  // Activity since the last heartbeat; loading the page counts.
  var active = true;
  function mark() {
    active = true;
  }
  ["keydown", "input", "scroll", "wheel", "pointerdown", "pointermove", "touchstart"].forEach(function (type) {
    addEventListener(type, mark, { passive: true, capture: true });
  });
  addEventListener("focus", mark);

  function beat() {
    var s = session(active);
    var view = s.fresh || location.href !== lastUrl ? quietly(pageView(s)) : Promise.resolve();
    var p = page();
    var body = { session_id: s.id, url: p.url, title: p.title, active: active };
    active = false;
    return view.then(function () { return quietly(send("heartbeat", body, 0)); });
  }

  // Single-page sites: a new URL is a new page view.
  function urlMayHaveChanged() {
    setTimeout(function () {
      if (location.href !== lastUrl) quietly(pageView(session(true)));
    }, 0);
  }
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      urlMayHaveChanged();
      return result;
    };
  });
  addEventListener("popstate", urlMayHaveChanged);

  function typed(value) {
    if (value instanceof Date) return { type: "date_time", value: value.toISOString() };
    if (Array.isArray(value)) return { type: "list", value: value.map(String) };
    if (typeof value === "number") return { type: "number", value: value };
    if (typeof value === "boolean") return { type: "bool", value: value };
    return { type: "text", value: String(value) };
  }
  function operations(properties) {
    if (Array.isArray(properties)) return properties;
    return Object.keys(properties || {}).map(function (name) {
      var value = properties[name];
      return value === null || value === undefined ? { op: "delete", name: name } : { op: "set", name: name, value: typed(value) };
    });
  }

  var leadcard = {
    visitorId: visitorId,
    get sessionId() {
      return session(false).id;
    },
    identify: function (userId, userHash, properties) {
      session(true);
      return send("identify", { user_id: String(userId), user_hash: String(userHash), properties: operations(properties) }, 2);
    },
    track: function (name, properties) {
      var s = session(true);
      return send("events", { session_id: s.id, events: [{ name: String(name), properties: properties || {} }] }, 2);
    },
    push: function (call) {
      return leadcard[call[0]].apply(leadcard, call.slice(1));
    }
  };
  window.leadcard = leadcard;

  var first = session(true);
  quietly(pageView(first)).then(function () {
    queued.forEach(function (call) { quietly(Promise.resolve().then(function () { return leadcard.push(call); })); });
    beat();
    setInterval(beat, beatMs);
  });
})();
