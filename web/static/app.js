// The workspace in the Mini App: sign in once with Telegram's initData, then load server-rendered fragments.
// No framework and nothing from elsewhere (the page's Content-Security-Policy allows only this file).
(function () {
  "use strict";
  var app = document.getElementById("app");
  var launch = new URLSearchParams(location.hash.slice(1));
  var initData = launch.get("tgWebAppData");
  var session = null;
  try { session = sessionStorage.getItem("workspace-session"); } catch (e) { session = null; }

  // Telegram's theme as CSS variables (--tg-theme-bg-color, ...): the page follows the app's colours.
  try {
    var theme = JSON.parse(launch.get("tgWebAppThemeParams") || "{}");
    Object.keys(theme).forEach(function (key) {
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(theme[key])) {
        document.documentElement.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), theme[key]);
      }
    });
  } catch (e) { /* no theme: the defaults stay */ }

  function headers() {
    var h = { "Accept": "text/html" };
    if (session) { h["Authorization"] = "Bearer " + session; }
    else if (initData) { h["X-Telegram-Init-Data"] = initData; initData = null; }
    return h;
  }

  function keep(response) {
    var fresh = response.headers.get("X-Workspace-Session");
    if (fresh) {
      session = fresh;
      try { sessionStorage.setItem("workspace-session", fresh); } catch (e) { /* memory only */ }
    }
  }

  function show(html) {
    app.innerHTML = html;
    var page = app.querySelector(".page");
    if (page) {
      document.documentElement.lang = page.getAttribute("data-lang") || "nl";
      document.documentElement.dir = page.getAttribute("data-dir") || "ltr";
      document.title = page.getAttribute("data-title") || "Waakvlam";
    }
    var main = document.getElementById("main");
    if (main) { main.focus({ preventScroll: true }); }
  }

  function failed(status) {
    var texts = document.getElementById("texts");
    var text = texts ? texts.getAttribute(status === 401 ? "data-unauthorized" : "data-forbidden") : String(status);
    app.innerHTML = "";
    var p = document.createElement("p");
    p.className = "flash error";
    p.setAttribute("role", "alert");
    p.setAttribute("data-status", String(status));
    p.textContent = text;
    app.appendChild(p);
  }

  function request(url, options, push) {
    options = options || {};
    options.headers = Object.assign(headers(), options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options).then(function (response) {
      keep(response);
      if (response.status === 401) {
        session = null;
        try { sessionStorage.removeItem("workspace-session"); } catch (e) { /* nothing kept */ }
      }
      if (!response.ok) { failed(response.status); return; }
      return response.text().then(function (html) {
        show(html);
        if (push) { history.pushState({ url: url }, "", location.pathname + location.search + location.hash); }
      });
    });
  }

  function download(link) {
    fetch(link.getAttribute("href"), { headers: headers(), credentials: "same-origin" }).then(function (response) {
      keep(response);
      if (!response.ok) { failed(response.status); return; }
      return response.blob().then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = link.getAttribute("data-download") || "figures.csv";
        document.body.appendChild(a);
        a.click();
        a.remove();
      });
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-nav], a[data-download]") : null;
    if (!link) { return; }
    event.preventDefault();
    if (link.hasAttribute("data-download")) { download(link); return; }
    request(link.getAttribute("href"), {}, true);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-post], form[data-get]")) { return; }
    event.preventDefault();
    var data = new URLSearchParams(new FormData(form));
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    if (form.hasAttribute("data-get")) {
      request(form.getAttribute("action") + "?" + data.toString(), {}, true);
      return;
    }
    request(form.getAttribute("action"), {
      method: "POST",
      body: data.toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }, false);
  });

  // Charts (web/templates/_charts.html): one tab stop each; the arrow keys, Home and End move between its
  // items; the readout line under the chart says the values of the item focused, tapped or pointed at.
  function chartItem(target) {
    return target && target.closest ? target.closest("[data-chart] .item[data-tip]") : null;
  }

  function chartItems(chart) {
    return Array.prototype.slice.call(chart.querySelectorAll(".item[data-tip]"));
  }

  function read(item) {
    var chart = item.closest("[data-chart]");
    chartItems(chart).forEach(function (other) { other.classList.remove("active"); });
    item.classList.add("active");
    var readout = document.getElementById(chart.getAttribute("data-readout") || "");
    if (readout) { readout.textContent = item.getAttribute("data-tip"); }
  }

  ["focusin", "click"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      var item = chartItem(event.target);
      if (item) { read(item); }
    });
  });
  // Pointing: only a pointer that really moves (scrolling under a resting pointer reads nothing).
  document.addEventListener("pointermove", function (event) {
    if (!event.movementX && !event.movementY) { return; }
    var item = chartItem(event.target);
    if (item && !item.classList.contains("active")) { read(item); }
  });

  document.addEventListener("keydown", function (event) {
    var item = chartItem(event.target);
    if (!item) { return; }
    var list = chartItems(item.closest("[data-chart]"));
    var index = list.indexOf(item);
    var rtl = document.documentElement.dir === "rtl";  // time runs right to left: left is later
    var steps = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1, ArrowDown: 1, ArrowUp: -1 };
    var next;
    if (event.key in steps) { next = index + steps[event.key]; }
    else if (event.key === "Home") { next = 0; }
    else if (event.key === "End") { next = list.length - 1; }
    else { return; }
    event.preventDefault();
    next = Math.max(0, Math.min(list.length - 1, next));
    list.forEach(function (other) { other.setAttribute("tabindex", "-1"); });
    list[next].setAttribute("tabindex", "0");
    list[next].focus();
  });

  window.addEventListener("popstate", function (event) {
    if (event.state && event.state.url) { request(event.state.url, {}, false); }
  });

  request("/workspace/api/families", {}, false).then(function () {
    history.replaceState({ url: "/workspace/api/families" }, "", location.pathname + location.search + location.hash);
  });
})();
