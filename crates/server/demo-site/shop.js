// The demo shop's own script: products, a cart in localStorage, and the calls a real shop would
// make to leadcard (track on add to cart and purchase, identify on sign-in).
(function () {
  "use strict";
  var products = [
    { id: 1, name: "Trail Runner shoes", price: 119.0, text: "Light shoes for rough ground." },
    { id: 2, name: "Rain shell jacket", price: 189.5, text: "Keeps the weather out, packs small." },
    { id: 3, name: "Day pack 22 l", price: 74.9, text: "Room for a day out, and a pocket for everything." },
    { id: 4, name: "Merino socks", price: 19.9, text: "Warm when wet, fresh for days." }
  ];
  var hb = new URLSearchParams(location.search).get("hb");
  function link(path) {
    return hb ? path + (path.indexOf("?") < 0 ? "?" : "&") + "hb=" + encodeURIComponent(hb) : path;
  }
  function cart() {
    try {
      return JSON.parse(localStorage.getItem("demo_cart")) || [];
    } catch (e) {
      return [];
    }
  }
  function saveCart(items) {
    localStorage.setItem("demo_cart", JSON.stringify(items));
    show("[data-cart-count]", function (el) { el.textContent = items.length; });
  }
  function show(selector, f) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), f);
  }
  // The widget loads async: queue calls until it is there.
  function leadcard() {
    var args = Array.prototype.slice.call(arguments);
    if (window.leadcard && window.leadcard.visitorId) return window.leadcard[args[0]].apply(window.leadcard, args.slice(1));
    window.leadcard = window.leadcard || [];
    window.leadcard.push(args);
    return Promise.resolve();
  }
  show("a[href^='/demo/']", function (a) { a.href = link(a.getAttribute("href")); });
  saveCart(cart());

  var page = document.body.getAttribute("data-page");
  if (page === "home") {
    show("[data-products]", function (list) {
      products.forEach(function (p) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = link("/demo/product.html?id=" + p.id);
        a.textContent = p.name;
        a.setAttribute("data-testid", "demo-product");
        var price = document.createElement("p");
        price.className = "price";
        price.textContent = "€" + p.price.toFixed(2);
        li.append(a, price);
        list.append(li);
      });
    });
  }
  if (page === "product") {
    var id = Number(new URLSearchParams(location.search).get("id")) || 1;
    var product = products.filter(function (p) { return p.id === id; })[0] || products[0];
    document.title = "Northwind Outfitters — " + product.name;
    show("[data-product-name]", function (el) { el.textContent = product.name; });
    show("[data-product-price]", function (el) { el.textContent = "€" + product.price.toFixed(2); });
    show("[data-product-text]", function (el) { el.textContent = product.text; });
    show("[data-add-to-cart]", function (button) {
      button.addEventListener("click", function () {
        saveCart(cart().concat([product.id]));
        leadcard("track", "Added to cart", { product: product.name, price: product.price });
        show("[data-added]", function (el) { el.hidden = false; });
      });
    });
  }
  if (page === "cart") {
    var items = cart().map(function (id) { return products.filter(function (p) { return p.id === id; })[0]; }).filter(Boolean);
    var total = items.reduce(function (sum, p) { return sum + p.price; }, 0);
    show("[data-cart]", function (list) {
      items.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = p.name + " — €" + p.price.toFixed(2);
        list.append(li);
      });
    });
    show("[data-cart-total]", function (el) { el.textContent = items.length ? "Total €" + total.toFixed(2) : "The cart is empty."; });
    show("[data-checkout]", function (button) {
      button.addEventListener("click", function () {
        if (!items.length) return;
        leadcard("track", "Purchase", { amount: Math.round(total * 100) / 100, items: items.map(function (p) { return p.name; }) });
        saveCart([]);
        show("[data-checked-out]", function (el) { el.hidden = false; });
      });
    });
    show("[data-sign-in]", function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var name = form.elements.name.value.trim();
        var email = form.elements.email.value.trim();
        // A real shop's server signs its own user id; here the demo server plays that part.
        fetch("/demo/sign-in", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: email }) })
          .then(function (r) { return r.json(); })
          .then(function (signed) { return leadcard("identify", signed.user_id, signed.user_hash, { $name: name, $email: email }); })
          .then(function () { show("[data-signed-in]", function (el) { el.hidden = false; }); });
      });
    });
  }
})();
