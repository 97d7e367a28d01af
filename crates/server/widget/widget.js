/* leadcard widget: sessions, page views and presence for leadcard, the chat and pop-ups operators
   send, and window.leadcard for the site (identify, track, openChat, sendMessage). Plain script, no
   cookies; see docs/CONTRACT.md "The widget" and "Widget UI". */
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

  // Text bodies and the key in the query need no CORS preflight; the server reads the bodies as
  // JSON. Busy or rate-limited calls are retried after Retry-After; the promise rejects with the
  // server's ErrorBody.
  function send(path, body, retries) {
    body.visitor_id = visitorId;
    var text = JSON.stringify(body);
    return fetch(api + path + "?key=" + encodeURIComponent(key), {
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
      // For the lead's local time and country.
      var zone;
      try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) {}
      events.push({ name: "$session_start", properties: { url: p.url, referrer: cut(document.referrer, 2048), title: p.title, timezone: zone, language: navigator.language } });
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

  // ---- Chat and pop-ups: an open shadow root keeps the site's CSS and ours apart; every text
  // from the lead or an operator is set with textContent, never parsed as HTML.
  var CSS =
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,sans-serif}" +
    "#leadcard-launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;" +
    "background:#2f6fed;color:#fff;font-size:24px;cursor:pointer;box-shadow:0 4px 14px #0004;z-index:2147483000}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;" +
    "background:#e5484d;color:#fff;font-size:12px;line-height:20px}.badge:empty{display:none}" +
    "#leadcard-chat{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);height:460px;" +
    "max-height:calc(100vh - 120px);display:flex;flex-direction:column;background:#fff;color:#1c2024;" +
    "border-radius:12px;box-shadow:0 8px 30px #0005;overflow:hidden;z-index:2147483000}" +
    "#leadcard-chat[hidden],#leadcard-popup[hidden]{display:none}" +
    "header{padding:12px 16px;background:#2f6fed;color:#fff;font-weight:600}" +
    "ol{flex:1;margin:0;padding:12px;list-style:none;overflow-y:auto;display:flex;flex-direction:column;gap:6px}" +
    "li{max-width:80%;padding:8px 10px;border-radius:10px;background:#eef1f5;white-space:pre-wrap;overflow-wrap:anywhere}" +
    "li.lead{align-self:flex-end;background:#2f6fed;color:#fff}li.pending{opacity:.6}li.failed{background:#fde2e1;color:#7a1c1c}" +
    "li small{display:block;font-size:11px;opacity:.7}" +
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e3e6ea}" +
    "textarea{flex:1;resize:none;height:40px;padding:8px;border:1px solid #cdd2d8;border-radius:8px}" +
    "button.send{border:0;border-radius:8px;background:#2f6fed;color:#fff;padding:0 14px;cursor:pointer}" +
    "#leadcard-popup{position:fixed;inset:0;display:grid;place-items:center;background:#0006;z-index:2147483001}" +
    ".card{position:relative;width:360px;max-width:calc(100vw - 40px);padding:24px;background:#fff;color:#1c2024;" +
    "border-radius:12px;box-shadow:0 8px 30px #0005}.leadcard-popup__body{white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".leadcard-popup__close{position:absolute;top:6px;right:8px;border:0;background:none;font-size:20px;cursor:pointer}";

  var root, launcher, badge, panel, list, input, popup, popupBody, popupName;
  var shown = {}; // message id -> its <li>
  var pending = []; // the lead's messages not yet confirmed: {body, li}
  var unseen = {}; // operator chat messages not yet shown to the lead
  var popups = [];
  var after = 0;

  // The chat's texts, from the product's catalogues (locales/*.json): the server writes them in
  // when it serves this file (site.rs). The browser's first language the widget speaks, else English.
  var TEXTS = __LEADCARD_TEXTS__;
  var T = TEXTS.en;
  (navigator.languages || [navigator.language || ""]).some(function (tag) {
    var code = String(tag).split("-")[0].toLowerCase();
    return TEXTS[code] && (T = TEXTS[code]);
  });

  function el(tag, attrs, parent) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    if (parent) parent.appendChild(node);
    return node;
  }

  function build() {
    if (root) return;
    var host = el("div", { id: "leadcard-root" }, document.body);
    root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    el("style", { text: CSS }, root);
    launcher = el("button", { id: "leadcard-launcher", type: "button", "aria-label": T.chat_title, text: "\uD83D\uDCAC" }, root);
    badge = el("span", { class: "badge", "aria-label": T.unread }, launcher);
    panel = el("section", { id: "leadcard-chat", hidden: "", "aria-label": T.chat }, root);
    el("header", { text: T.chat_title }, panel);
    list = el("ol", { "aria-live": "polite" }, panel);
    var form = el("form", {}, panel);
    input = el("textarea", { id: "leadcard-chat-input", placeholder: T.placeholder, "aria-label": T.message }, form);
    el("button", { id: "leadcard-chat-send", class: "send", type: "submit", text: T.send }, form);
    popup = el("div", { id: "leadcard-popup", hidden: "", role: "dialog", "aria-modal": "true" }, root);
    var card = el("div", { class: "card" }, popup);
    el("button", { class: "leadcard-popup__close", type: "button", "aria-label": T.close, text: "\u00D7" }, card)
      .addEventListener("click", nextPopup);
    popupName = el("strong", {}, card);
    popupBody = el("p", { class: "leadcard-popup__body" }, card);

    launcher.addEventListener("click", function () {
      if (panel.hasAttribute("hidden")) openChat();
      else panel.setAttribute("hidden", "");
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value;
      if (!text.trim()) return;
      input.value = "";
      quietly(sendMessage(text));
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
      }
    });
  }

  function setBadge() {
    var n = Object.keys(unseen).length;
    badge.textContent = n ? String(n) : "";
  }

  function seen(ids) {
    if (ids.length) quietly(send("messages/seen", { message_ids: ids }, 2));
  }

  function openChat() {
    build();
    panel.removeAttribute("hidden");
    var ids = Object.keys(unseen).map(Number);
    unseen = {};
    setBadge();
    seen(ids);
    list.scrollTop = list.scrollHeight;
    input.focus();
  }

  function line(m, li) {
    li = li || el("li", {}, list);
    li.className = m.author === "lead" ? "lead" : "operator";
    li.textContent = "";
    if (m.author !== "lead" && m.operator_name) el("small", { text: m.operator_name }, li);
    li.appendChild(document.createTextNode(m.body));
    return li;
  }

  function showPopup() {
    var m = popups[0];
    if (!m) return popup.setAttribute("hidden", "");
    popupName.textContent = m.operator_name || "";
    popupBody.textContent = m.body;
    popup.removeAttribute("hidden");
    seen([m.id]);
  }
  function nextPopup() {
    popups.shift();
    showPopup();
  }

  function receive(m) {
    build();
    if (m.id > after) after = m.id;
    if (m.channel === "popup") {
      if (m.author === "operator" && !m.seen && !popups.some(function (p) { return p.id === m.id; })) {
        popups.push(m);
        if (popups.length === 1) showPopup();
      }
      return;
    }
    if (shown[m.id]) return;
    // The lead's own message may arrive over the stream before its send is answered.
    var mine = m.author === "lead" && pending.filter(function (p) { return p.body === m.body; })[0];
    if (mine) pending.splice(pending.indexOf(mine), 1);
    shown[m.id] = line(m, mine && mine.li);
    list.scrollTop = list.scrollHeight;
    if (m.author === "operator" && !m.seen) {
      if (panel.hasAttribute("hidden")) {
        unseen[m.id] = true;
        setBadge();
      } else {
        seen([m.id]);
      }
    }
  }

  // The lead's message shows at once; its key is made once and reused by every retry, so the
  // server stores it once however often the network drops.
  function sendMessage(text) {
    build();
    var li = el("li", { class: "lead pending", text: String(text) }, list);
    list.scrollTop = list.scrollHeight;
    var body = { body: String(text), idempotency_key: newId() };
    var mine = { body: String(text).trim(), li: li };
    pending.push(mine);
    function attempt(n) {
      return send("messages", body, 2).then(
        function (m) {
          var at = pending.indexOf(mine);
          if (at >= 0) pending.splice(at, 1);
          if (!shown[m.id]) shown[m.id] = line(m, li);
          else if (shown[m.id] !== li) li.remove();
          return m;
        },
        function (error) {
          if (error && error.error || n >= 6) {
            li.className = "lead failed";
            throw error;
          }
          return wait(Math.min(30000, 1000 << n)).then(function () { return attempt(n + 1); });
        }
      );
    }
    return attempt(0);
  }

  // Operators' messages arrive over one stream per page; EventSource reconnects by itself after
  // a dropped connection and resumes after the last id it saw. A stream the server refused (429:
  // too many open, or too many calls) EventSource gives up on: the widget opens a new one after
  // a pause, longer each time (it cannot read Retry-After).
  var listenPause = 5000;
  function listen() {
    if (!window.EventSource) return;
    var url = api + "stream?key=" + encodeURIComponent(key) + "&visitor_id=" + encodeURIComponent(visitorId) + "&after=" + after;
    var stream = new EventSource(url);
    stream.addEventListener("open", function () { listenPause = 5000; });
    stream.addEventListener("error", function () {
      if (stream.readyState !== EventSource.CLOSED) return;
      setTimeout(listen, listenPause);
      listenPause = Math.min(300000, listenPause * 2);
    });
    stream.addEventListener("message", function (e) {
      try {
        receive(JSON.parse(e.data));
      } catch (err) {
        console.debug("leadcard:", err);
      }
    });
  }

  var leadcard = {
    visitorId: visitorId,
    openChat: openChat,
    sendMessage: sendMessage,
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
    if (document.body) {
      build();
      listen();
    } else {
      addEventListener("DOMContentLoaded", function () {
        build();
        listen();
      });
    }
  });
})();
