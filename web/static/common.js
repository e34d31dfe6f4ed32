// Shared code of the spotifyhist pages: API calls, safe DOM building,
// formatting, charts that follow the theme, menus, dialogs and notices.
//
// Safety rule: everything that comes from Spotify, an upload or the API is
// inserted with textContent / text nodes or set as a plain attribute value,
// never parsed as markup. Nothing here uses innerHTML.
(function () {
  "use strict";

  // ---------- Time zone and API ----------

  let timeZone = "UTC";
  try {
    timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch (e) {
    timeZone = "UTC";
  }

  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  let csrfToken = csrfMeta ? csrfMeta.getAttribute("content") : "";

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.name = "ApiError";
      this.status = status;
    }
  }

  // apiURL adds the query parameters, and the browser's time zone to every
  // statistics call so that days, weeks and hours are the user's own.
  function apiURL(path, params) {
    const u = new URL(path, window.location.origin);
    if (u.pathname.indexOf("/stats/") >= 0) {
      u.searchParams.set("tz", timeZone);
    }
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") {
        u.searchParams.set(k, String(v));
      }
    }
    return u.pathname + u.search;
  }

  let mePromise = null;

  // me returns GET /api/v1/me (the user, the CSRF token, the instance's
  // mode), fetched once per page unless refresh is set. Show the user with
  // loadUser, which keeps answers in order.
  function me(refresh) {
    if (!mePromise || refresh) {
      mePromise = request("GET", "/api/v1/me").then((m) => {
        if (m && m.csrf_token) {
          csrfToken = m.csrf_token;
        }
        return m;
      });
      mePromise.catch(() => {
        mePromise = null;
      });
    }
    return mePromise;
  }

  // pending counts the API calls in flight (SH.pending()). A call counts
  // from the moment it is made, synchronously in the handler that makes
  // it, until its answer has arrived and been handed to the code that asked
  // (which puts it on the page at once; charts draw with the next frame).
  let pending = 0;

  function request(method, path, opts) {
    pending++;
    const done = () => {
      pending--;
    };
    const p = send(method, path, opts);
    p.then(done, done);
    return p;
  }

  async function send(method, path, opts) {
    const o = opts || {};
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") {
      if (!csrfToken) {
        await me(true);
      }
      headers["X-CSRF-Token"] = csrfToken;
    }
    let body = o.body;
    if (o.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(o.json);
    } else if (body !== undefined) {
      headers["Content-Type"] = o.contentType || "application/octet-stream";
    }
    let res;
    try {
      res = await fetch(apiURL(path, o.params), {
        method: method,
        headers: headers,
        body: body,
        credentials: "same-origin",
        signal: o.signal
      });
    } catch (e) {
      if (e && e.name === "AbortError") {
        throw e;
      }
      throw new ApiError(0, "The server could not be reached. Check the connection and try again.");
    }
    if (res.status === 204) {
      return null;
    }
    let data = null;
    if ((res.headers.get("Content-Type") || "").indexOf("application/json") >= 0) {
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const msg = data && data.error && data.error.message ? data.error.message : res.status + " " + res.statusText;
      throw new ApiError(res.status, msg);
    }
    return data;
  }

  const api = {
    get: (path, params, opts) => request("GET", path, Object.assign({ params: params }, opts)),
    post: (path, json, opts) => request("POST", path, Object.assign({ json: json }, opts)),
    put: (path, json) => request("PUT", path, { json: json }),
    del: (path) => request("DELETE", path, {}),
    upload: (path, params, blob) => request("POST", path, { params: params, body: blob, contentType: blob.type || "application/octet-stream" })
  };

  // ---------- DOM ----------

  // el builds an element. props: class, text, dataset, on<event> handlers,
  // and plain attributes (set with setAttribute, so never markup). Children
  // are nodes or strings (strings become text nodes).
  function el(tag, props, ...children) {
    const n = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === null || v === undefined || v === false) {
          continue;
        }
        if (k === "class") {
          n.className = v;
        } else if (k === "text") {
          n.textContent = String(v);
        } else if (k === "dataset") {
          Object.assign(n.dataset, v);
        } else if (k.slice(0, 2) === "on" && typeof v === "function") {
          n.addEventListener(k.slice(2), v);
        } else if (v === true) {
          n.setAttribute(k, "");
        } else {
          n.setAttribute(k, String(v));
        }
      }
    }
    append(n, children);
    return n;
  }

  function append(n, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) {
        continue;
      }
      n.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }

  function clear(n) {
    while (n.firstChild) {
      n.removeChild(n.firstChild);
    }
    return n;
  }

  function setText(n, text) {
    if (n) {
      n.textContent = text;
    }
  }

  function $(sel, root) {
    return (root || document).querySelector(sel);
  }

  function $$(sel, root) {
    return Array.from((root || document).querySelectorAll(sel));
  }

  // radioValue returns the checked value of a radio group.
  function radioValue(name) {
    const r = document.querySelector('input[type="radio"][name="' + name + '"]:checked');
    return r ? r.value : "";
  }

  // spotifyURL links a catalogue item to Spotify when its id is a real
  // Spotify id (local files and names from exports have none).
  function spotifyURL(kind, id) {
    if (typeof id !== "string" || !/^[0-9A-Za-z]{22}$/.test(id)) {
      return null;
    }
    return "https://open.spotify.com/" + kind + "/" + encodeURIComponent(id);
  }

  function artistNames(artists) {
    return (artists || []).map((a) => a.name).join(", ");
  }

  // ---------- Formatting ----------

  const numberFormat = new Intl.NumberFormat();
  const decimalFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  const dayLong = new Intl.DateTimeFormat(undefined, { timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric" });
  const dayShort = new Intl.DateTimeFormat(undefined, { timeZone: "UTC", day: "numeric", month: "short" });
  const monthShort = new Intl.DateTimeFormat(undefined, { timeZone: "UTC", month: "short", year: "numeric" });
  const monthLong = new Intl.DateTimeFormat(undefined, { timeZone: "UTC", month: "long", year: "numeric" });
  const isoDay = new Intl.DateTimeFormat("en-CA", { timeZone: timeZone, year: "numeric", month: "2-digit", day: "2-digit" });

  const fmt = {
    int: (n) => numberFormat.format(Math.round(n || 0)),
    dec: (n) => decimalFormat.format(n || 0),
    // hours: a whole number of hours for big totals, one decimal below 100.
    hours: (ms) => {
      const h = (ms || 0) / 3600000;
      return h >= 100 ? numberFormat.format(Math.round(h)) : decimalFormat.format(h);
    },
    // duration: "3 h 25 min", "25 min", "40 s".
    duration: (ms) => {
      const s = Math.round((ms || 0) / 1000);
      if (s < 60) {
        return s + " s";
      }
      const m = Math.round(s / 60);
      if (m < 60) {
        return m + " min";
      }
      const h = Math.floor(m / 60);
      return numberFormat.format(h) + " h " + (m % 60) + " min";
    },
    // clock: "3:25" for a track length.
    clock: (ms) => {
      const s = Math.round((ms || 0) / 1000);
      return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    },
    dateTime: (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : "–"),
    date: (iso) => (iso ? dateFormat.format(new Date(iso)) : "–"),
    day: (d) => dayLong.format(parseDay(d)),
    dayShort: (d) => dayShort.format(parseDay(d)),
    month: (d) => monthShort.format(parseDay(d)),
    monthLong: (d) => monthLong.format(parseDay(d)),
    plays: (n) => numberFormat.format(n || 0) + (n === 1 ? " play" : " plays"),
    hour: (h) => String(h).padStart(2, "0") + ":00"
  };

  // ---------- Calendar days (YYYY-MM-DD, computed in UTC arithmetic) ----------

  function parseDay(s) {
    const p = String(s).split("-").map(Number);
    return new Date(Date.UTC(p[0], (p[1] || 1) - 1, p[2] || 1));
  }

  function dayString(d) {
    return d.toISOString().slice(0, 10);
  }

  // today is the current date in the browser's time zone.
  function today() {
    return isoDay.format(new Date());
  }

  function addDays(s, n) {
    const d = parseDay(s);
    d.setUTCDate(d.getUTCDate() + n);
    return dayString(d);
  }

  function addMonths(s, n) {
    const d = parseDay(s);
    const day = d.getUTCDate();
    d.setUTCDate(1);
    d.setUTCMonth(d.getUTCMonth() + n);
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    d.setUTCDate(Math.min(day, last));
    return dayString(d);
  }

  // bucketStart aligns a day to its bucket: weeks start on Monday.
  function bucketStart(s, bucket) {
    const d = parseDay(s);
    if (bucket === "week") {
      d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
    } else if (bucket === "month") {
      d.setUTCDate(1);
    }
    return dayString(d);
  }

  function nextBucket(s, bucket) {
    if (bucket === "week") {
      return addDays(s, 7);
    }
    if (bucket === "month") {
      return addMonths(s, 1);
    }
    return addDays(s, 1);
  }

  // rangeStart is the first day a relative range covers (empty for all).
  function rangeStart(range) {
    const t = today();
    switch (range) {
      case "4w":
        return addDays(t, -28);
      case "6m":
        return addMonths(t, -6);
      case "1y":
        return addMonths(t, -12);
      case "1m":
        return addMonths(t, -1);
      default:
        return "";
    }
  }

  // fillBuckets turns the API's sparse points into a continuous series from
  // `from` (or the first point) to `to` (or the last point), with zeros for
  // buckets without plays.
  function fillBuckets(points, bucket, from, to) {
    const byStart = new Map(points.map((p) => [p.start, p]));
    let first = from ? bucketStart(from, bucket) : points.length ? points[0].start : "";
    let last = to ? bucketStart(to, bucket) : points.length ? points[points.length - 1].start : "";
    if (!first || !last) {
      return [];
    }
    if (points.length && points[0].start < first) {
      first = points[0].start;
    }
    if (points.length && points[points.length - 1].start > last) {
      last = points[points.length - 1].start;
    }
    const out = [];
    for (let s = first; s <= last && out.length < 5000; s = nextBucket(s, bucket)) {
      const p = byStart.get(s);
      out.push({ start: s, plays: p ? p.plays : 0, ms_played: p ? p.ms_played : 0 });
    }
    return out;
  }

  // ---------- Charts ----------

  function palette() {
    const cs = getComputedStyle(document.documentElement);
    const v = (name) => cs.getPropertyValue(name).trim();
    return {
      text: v("--chart-text"),
      grid: v("--chart-grid"),
      accent: v("--chart-accent"),
      accentSoft: v("--chart-accent-soft"),
      accent2: v("--chart-accent-2"),
      accent2Soft: v("--chart-accent-2-soft"),
      tooltipBg: v("--chart-tooltip-bg"),
      tooltipText: v("--chart-tooltip-text")
    };
  }

  // themeChart applies the current palette to a chart's options and
  // datasets. Datasets name their colour with shColor ("accent" or
  // "accent2") and shFill (soft fill under a line).
  function themeChart(chart, p) {
    const o = chart.options;
    for (const s of Object.values(o.scales || {})) {
      if (s.ticks) {
        s.ticks.color = p.text;
      }
      if (s.grid) {
        s.grid.color = p.grid;
      }
      if (s.border) {
        s.border.color = p.grid;
      }
      if (s.title) {
        s.title.color = p.text;
      }
    }
    // Only set leaves: assigning a resolved options object back into the
    // options would nest Chart.js's option proxies.
    const plugins = o.plugins;
    if (plugins && plugins.legend && plugins.legend.labels) {
      plugins.legend.labels.color = p.text;
    }
    if (plugins && plugins.tooltip) {
      plugins.tooltip.backgroundColor = p.tooltipBg;
      plugins.tooltip.titleColor = p.tooltipText;
      plugins.tooltip.bodyColor = p.tooltipText;
    }
    for (const ds of chart.data.datasets) {
      const key = ds.shColor || "accent";
      ds.borderColor = p[key];
      ds.backgroundColor = ds.shFill ? p[key + "Soft"] : p[key];
      ds.hoverBackgroundColor = p[key];
      ds.pointBackgroundColor = p[key];
    }
  }

  function baseOptions(extra) {
    const p = palette();
    const o = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      layout: { padding: { top: 4 } },
      scales: {
        x: {
          grid: { display: false, color: p.grid },
          border: { color: p.grid },
          ticks: { color: p.text, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 }
        },
        y: {
          beginAtZero: true,
          grid: { color: p.grid },
          border: { display: false, color: p.grid },
          ticks: { color: p.text, precision: 0, maxTicksLimit: 6 }
        }
      },
      plugins: {
        legend: { display: false, labels: { color: p.text } },
        tooltip: {
          backgroundColor: p.tooltipBg,
          titleColor: p.tooltipText,
          bodyColor: p.tooltipText,
          displayColors: false,
          padding: 10,
          cornerRadius: 8
        }
      }
    };
    return merge(o, extra || {});
  }

  function merge(a, b) {
    for (const [k, v] of Object.entries(b)) {
      if (v && typeof v === "object" && !Array.isArray(v) && a[k] && typeof a[k] === "object") {
        merge(a[k], v);
      } else {
        a[k] = v;
      }
    }
    return a;
  }

  // chart creates or updates the chart on canvas and resolves once it has
  // been drawn with the new data.
  function chart(canvas, type, labels, datasets, options) {
    if (typeof window.Chart === "undefined") {
      return Promise.reject(new Error("Chart.js did not load"));
    }
    const p = palette();
    let c = window.Chart.getChart(canvas);
    if (c && c.config.type !== type) {
      c.destroy();
      c = null;
    }
    const box = canvas.parentElement;
    const empty = box && box.querySelector(".empty");
    if (empty) {
      empty.hidden = datasets.some((d) => d.data.some((v) => v > 0));
    }
    return new Promise((resolve) => {
      if (c) {
        (c.$shDrawn = c.$shDrawn || []).push(resolve);
        c.data.labels = labels;
        c.data.datasets = datasets;
        c.options = baseOptions(options);
        themeChart(c, p);
        c.update("none");
        return;
      }
      c = new window.Chart(canvas, {
        type: type,
        data: { labels: labels, datasets: datasets },
        options: baseOptions(options),
        plugins: [
          {
            id: "spotifyhistDrawn",
            beforeInit(ch) {
              // Colours before the first draw, so it is drawn once.
              themeChart(ch, p);
              ch.$shDrawn = [resolve];
            },
            afterRender(ch) {
              const waiting = ch.$shDrawn || [];
              ch.$shDrawn = [];
              for (const r of waiting) {
                r();
              }
            }
          }
        ]
      });
    });
  }

  document.addEventListener("themechange", () => {
    if (typeof window.Chart === "undefined") {
      return;
    }
    const p = palette();
    for (const c of Object.values(window.Chart.instances)) {
      themeChart(c, p);
      c.update("none");
    }
  });

  if (typeof window.Chart !== "undefined") {
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.font.size = 12;
  }

  // ---------- Widgets shared by the pages ----------

  // overTimeChart draws plays per bucket, filled to a continuous series.
  function overTimeChart(canvas, points, bucket, from, to) {
    const series = fillBuckets(points, bucket, from, to);
    const label = bucket === "month" ? fmt.month : fmt.dayShort;
    const title = (s) => (bucket === "month" ? fmt.monthLong(s) : bucket === "week" ? "Week of " + fmt.day(s) : fmt.day(s));
    const line = bucket === "day" && series.length > 60;
    const ds = {
      label: "Plays",
      data: series.map((p) => p.plays),
      shColor: "accent",
      shFill: line,
      fill: line,
      tension: 0.25,
      pointRadius: 0,
      pointHoverRadius: 4,
      borderWidth: line ? 2 : 0,
      borderRadius: 4,
      maxBarThickness: 36
    };
    canvas.dataset.bucket = bucket; // what the chart shows, for scripts and tests
    return chart(canvas, line ? "line" : "bar", series.map((p) => label(p.start)), [ds], {
      plugins: {
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? title(series[items[0].dataIndex].start) : ""),
            label: (item) => {
              const p = series[item.dataIndex];
              return fmt.plays(p.plays) + " · " + fmt.duration(p.ms_played);
            }
          }
        }
      }
    });
  }

  // hourlyChart draws 24 bars; values are averages or counts.
  function hourlyChart(canvas, values, unit) {
    const labels = values.map((_, h) => String(h).padStart(2, "0"));
    const ds = { label: unit, data: values, shColor: "accent2", borderRadius: 4, maxBarThickness: 28 };
    return chart(canvas, "bar", labels, [ds], {
      scales: { y: { ticks: { precision: undefined } } },
      plugins: {
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? fmt.hour(items[0].dataIndex) + "–" + fmt.hour((items[0].dataIndex + 1) % 24) : ""),
            label: (item) => fmt.dec(item.raw) + " " + unit
          }
        }
      }
    });
  }

  const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

  // heatmap renders the hour × weekday matrix ([weekday 0=Sunday][hour]) as
  // a table whose cells carry a heat level class; the counts stay readable
  // as text for screen readers and as tooltips.
  function heatmap(container, plays) {
    const order = [1, 2, 3, 4, 5, 6, 0]; // Monday first
    let max = 0;
    let best = null;
    for (const d of order) {
      for (let h = 0; h < 24; h++) {
        const v = (plays[d] || [])[h] || 0;
        if (v > max) {
          max = v;
          best = { d: d, h: h };
        }
      }
    }
    const short = new Intl.DateTimeFormat(undefined, { weekday: "short", timeZone: "UTC" });
    // 2023-01-01 was a Sunday.
    const dayName = (d) => short.format(new Date(Date.UTC(2023, 0, 1 + d)));
    const head = el("tr", null, el("td"));
    for (let h = 0; h < 24; h++) {
      head.appendChild(el("th", { scope: "col" }, h % 3 === 0 ? String(h).padStart(2, "0") : el("span", { class: "visually-hidden" }, String(h))));
    }
    const body = el("tbody");
    for (const d of order) {
      const row = el("tr", null, el("th", { scope: "row", title: WEEKDAYS[d] }, dayName(d)));
      for (let h = 0; h < 24; h++) {
        const v = (plays[d] || [])[h] || 0;
        const level = v === 0 || max === 0 ? 0 : 1 + Math.min(7, Math.floor((v / max) * 8));
        const text = WEEKDAYS[d] + " " + fmt.hour(h) + "–" + fmt.hour((h + 1) % 24) + ": " + fmt.plays(v);
        row.appendChild(el("td", { class: "heat-" + level, title: text }, el("span", { class: "visually-hidden" }, text)));
      }
      body.appendChild(row);
    }
    const cols = el("colgroup", null, el("col", { class: "heat-label-col" }), el("col", { span: 24 }));
    const table = el("table", { class: "heatmap" }, el("caption", { class: "visually-hidden" }, "Plays by weekday and hour"), cols, el("thead", null, head), body);
    const legend = el(
      "div",
      { class: "heat-legend", "aria-hidden": "true" },
      "Less",
      el("span", { class: "swatch" }),
      el("span", { class: "swatch heat-2" }),
      el("span", { class: "swatch heat-4" }),
      el("span", { class: "swatch heat-6" }),
      el("span", { class: "swatch heat-8" }),
      "More"
    );
    clear(container);
    append(container, [el("div", { class: "heatmap-wrap" }, table), legend]);
    return best ? WEEKDAYS[best.d] + "s around " + fmt.hour(best.h) : "";
  }

  // topList renders ranked tracks, artists or albums.
  function topList(ol, items, kind, by) {
    clear(ol);
    if (!items.length) {
      ol.appendChild(el("li", { class: "empty" }, "Nothing played in this range."));
      return;
    }
    const value = (it) => (by === "time" ? it.ms_played : it.plays);
    const max = Math.max(1, value(items[0]));
    for (const it of items) {
      let sub = "";
      if (kind === "tracks") {
        sub = artistNames(it.artists) + (it.album && it.album.name ? " · " + it.album.name : "");
      } else if (kind === "albums") {
        sub = artistNames(it.artists);
      }
      const href = spotifyURL(kind.slice(0, -1), it.id);
      const name = href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, it.name) : it.name;
      const shown = by === "time" ? fmt.duration(it.ms_played) : fmt.plays(it.plays);
      ol.appendChild(
        el(
          "li",
          null,
          el("span", { class: "rank" }, String(it.rank)),
          el("div", { class: "name" }, el("strong", { title: it.name }, name, it.is_local ? el("span", { class: "tag" }, "local") : null), sub ? el("span", { title: sub }, sub) : null),
          el("span", { class: "value" }, shown),
          el("meter", { min: 0, max: max, value: value(it), "aria-label": it.name + ": " + shown })
        )
      );
    }
  }

  // ---------- Notices and dialogs ----------

  function notify(message, kind) {
    let box = document.getElementById("toasts");
    if (!box) {
      box = el("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
      document.body.appendChild(box);
    }
    const t = el("div", { class: "toast" + (kind === "error" ? " error" : "") }, message);
    box.appendChild(t);
    window.setTimeout(() => t.remove(), kind === "error" ? 8000 : 4000);
  }

  // finishConfirm ends the question on screen (as cancelled), if any.
  let finishConfirm = null;

  // confirmAction shows the confirmation dialog and resolves to true when
  // the user confirms. Escape and Cancel resolve to false. The answer is
  // taken from the buttons and the dialog's cancel event as they happen:
  // the close event comes later (with the next frame) and may belong to an
  // earlier question, so it only counts while no question is on screen.
  function confirmAction(opts) {
    const d = document.getElementById("confirm-dialog");
    if (!d || typeof d.showModal !== "function") {
      return Promise.resolve(window.confirm(opts.message));
    }
    if (finishConfirm) {
      finishConfirm(false); // one question at a time
    }
    setText($("#confirm-title", d), opts.title);
    setText($("#confirm-message", d), opts.message);
    const ok = $("#confirm-ok", d);
    const cancel = $("#confirm-cancel", d);
    ok.textContent = opts.confirm || "OK";
    ok.className = "button " + (opts.danger ? "danger" : "primary");
    const opener = document.activeElement;
    return new Promise((resolve) => {
      let finished = false;
      const finish = (yes) => {
        if (finished) {
          return;
        }
        finished = true;
        finishConfirm = null;
        ok.removeEventListener("click", onOK);
        cancel.removeEventListener("click", onCancel);
        d.removeEventListener("cancel", onCancelEvent);
        d.removeEventListener("close", onClose);
        if (d.open) {
          d.close(yes ? "confirm" : "cancel");
        }
        if (opener && opener.focus && document.contains(opener)) {
          opener.focus();
        }
        resolve(yes);
      };
      const onOK = () => finish(true);
      const onCancel = () => finish(false);
      const onCancelEvent = () => finish(false); // Escape
      const onClose = () => {
        if (!d.open) {
          finish(d.returnValue === "confirm");
        }
      };
      ok.addEventListener("click", onOK);
      cancel.addEventListener("click", onCancel);
      d.addEventListener("cancel", onCancelEvent);
      d.addEventListener("close", onClose);
      finishConfirm = finish;
      d.returnValue = "";
      d.showModal();
      // The safe choice has the focus.
      cancel.focus();
    });
  }

  // ---------- Menus ----------

  // menu wires a disclosure menu: the button toggles the panel
  // (aria-expanded), the first control gets the focus, arrow keys move
  // between controls, Escape closes and returns the focus to the button, a
  // click or focus outside closes it.
  function menu(button, panel) {
    const controls = () => $$("button, select, a[href], input", panel).filter((n) => !n.hidden && !n.disabled && n.offsetParent !== null);
    const outside = (e) => {
      if (!panel.contains(e.target) && !button.contains(e.target)) {
        close(false);
      }
    };
    function open() {
      panel.hidden = false;
      button.setAttribute("aria-expanded", "true");
      document.addEventListener("pointerdown", outside, true);
      const first = controls()[0];
      if (first) {
        first.focus();
      }
    }
    function close(focusButton) {
      if (panel.hidden) {
        return;
      }
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      document.removeEventListener("pointerdown", outside, true);
      if (focusButton) {
        button.focus();
      }
    }
    button.addEventListener("click", () => (panel.hidden ? open() : close(false)));
    button.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" && panel.hidden) {
        e.preventDefault();
        open();
      } else if (e.key === "Escape") {
        close(true);
      }
    });
    panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        close(true);
        return;
      }
      if (e.target.tagName === "SELECT" && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
        return; // the select uses its arrows itself
      }
      const list = controls();
      const i = list.indexOf(document.activeElement);
      let next = -1;
      if (e.key === "ArrowDown") {
        next = (i + 1) % list.length;
      } else if (e.key === "ArrowUp") {
        next = (i - 1 + list.length) % list.length;
      } else if (e.key === "Home") {
        next = 0;
      } else if (e.key === "End") {
        next = list.length - 1;
      }
      if (next >= 0 && list.length) {
        e.preventDefault();
        list[next].focus();
      }
    });
    panel.addEventListener("focusout", (e) => {
      const to = e.relatedTarget;
      if (to && !panel.contains(to) && to !== button) {
        close(false);
      }
    });
    return { open: open, close: close };
  }

  // ---------- Lazy loading ----------

  // whenVisible runs load once, when the element comes near the viewport.
  // The element's data-lazy attribute says how far it got: "waiting" (not
  // seen yet), "loading", then "done" once the promise load returned has
  // settled (whether the content or an error message is shown).
  function whenVisible(node, load) {
    if (!node) {
      return;
    }
    node.dataset.lazy = "waiting";
    const run = () => {
      node.dataset.lazy = "loading";
      const finish = () => {
        node.dataset.lazy = "done";
      };
      Promise.resolve()
        .then(load)
        .then(finish, finish);
    };
    if (!("IntersectionObserver" in window)) {
      run();
      return;
    }
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          io.disconnect();
          run();
        }
      },
      { rootMargin: "400px 0px" }
    );
    io.observe(node);
  }

  // ---------- Status ----------

  const STATUS = {
    running: { text: "Running", title: "Your listening is being recorded." },
    starting: { text: "Starting", title: "Monitoring is switched on and will begin within a minute or two." },
    stopping: { text: "Stopping", title: "Monitoring is switched off; the worker is letting go." },
    stopped: { text: "Not running", title: "Monitoring is switched off: nothing is recorded until you start it." },
    needs_reauth: { text: "Needs re-login", title: "Spotify no longer accepts the login: log in again to resume recording." },
    local: { text: "Local mode", title: "This instance runs without Spotify credentials: import your data export to see it here." }
  };

  function statusInfo(status) {
    return STATUS[status] || { text: status || "Unknown", title: "" };
  }

  const MODES = {
    history: "History",
    realtime: "Real time",
    hybrid: "Hybrid",
    adaptive: "Adaptive"
  };

  // ---------- Settings menu (every page of a logged-in user) ----------

  // userChanged tells the page (the "userchange" event) what the user's
  // state is now.
  function userChanged(user) {
    document.dispatchEvent(new CustomEvent("userchange", { detail: user }));
  }

  // The user's state comes from reads (the page's first load, the refresh
  // in the background) and from the answers of settings actions (start,
  // stop, mode). Answers can arrive in any order, so a read that overlapped
  // an action is dropped (the action's answer is newer), and of overlapping
  // actions only the last one's answer is shown.
  let actionsInFlight = 0;
  let userEpoch = 0; // changes whenever an action starts or ends
  let lastAction = 0;
  let firstUser = null;

  // loadUser reads the user and shows it, unless an action overlapped the
  // read. Without refresh it reads once per page.
  function loadUser(refresh) {
    if (!refresh && firstUser) {
      return firstUser;
    }
    const epoch = userEpoch;
    const p = me(refresh).then((m) => {
      if (epoch === userEpoch && actionsInFlight === 0) {
        userChanged(m.user);
      }
      return m;
    });
    if (!refresh) {
      firstUser = p;
      p.catch(() => {
        firstUser = null;
      });
    }
    return p;
  }

  // userAction runs a settings action whose answer is the user, and shows
  // that answer.
  async function userAction(act) {
    const seq = ++lastAction;
    actionsInFlight++;
    userEpoch++;
    try {
      const u = await act();
      mePromise = null; // what me() cached is older now
      if (seq === lastAction) {
        userChanged(u);
      }
      return u;
    } finally {
      actionsInFlight--;
      userEpoch++;
    }
  }

  function setupSettings() {
    const button = document.getElementById("settings-button");
    const panel = document.getElementById("settings-panel");
    if (!button || !panel) {
      return;
    }
    const m = menu(button, panel);
    const startItem = $('[data-action="start"]', panel);
    const stopItem = $('[data-action="stop"]', panel);
    const reloginItem = $('[data-action="relogin"]', panel);
    const modeSelect = $("#mode-select", panel);

    const show = (user) => {
      if (startItem) {
        startItem.hidden = user.enabled && !user.needs_reauth;
      }
      if (stopItem) {
        stopItem.hidden = !user.enabled;
      }
      if (reloginItem) {
        reloginItem.hidden = !user.needs_reauth;
      }
      if (modeSelect) {
        modeSelect.value = user.mode;
      }
    };
    document.addEventListener("userchange", (e) => show(e.detail));
    loadUser().catch(() => {});

    const run = async (action, item) => {
      switch (action) {
        case "start": {
          m.close(true);
          await userAction(() => api.post("/api/v1/me/start"));
          notify("Monitoring started.");
          break;
        }
        case "stop": {
          m.close(true);
          const yes = await confirmAction({
            title: "Stop the service?",
            message: "This will pause tracking your listening history until you start it again.",
            confirm: "Stop service",
            danger: true
          });
          if (!yes) {
            return;
          }
          await userAction(() => api.post("/api/v1/me/stop"));
          notify("Monitoring stopped.");
          break;
        }
        case "logout": {
          m.close(false);
          item.disabled = true;
          await api.post("/logout");
          window.location.assign("/");
          break;
        }
        case "delete": {
          m.close(true);
          const yes = await confirmAction({
            title: document.body.dataset.localMode === "true" ? "Delete all data?" : "Delete your account?",
            message: "This removes your account and all your listening history, playlists and imports from this instance. It cannot be undone.",
            confirm: "Delete everything",
            danger: true
          });
          if (!yes) {
            return;
          }
          await api.del("/api/v1/me");
          window.location.assign("/");
          break;
        }
        case "relogin":
          window.location.assign("/login");
          break;
      }
    };
    for (const item of $$("[data-action]", panel)) {
      item.addEventListener("click", () => {
        run(item.dataset.action, item).catch((err) => {
          item.disabled = false;
          notify(err.message, "error");
        });
      });
    }
    if (modeSelect) {
      modeSelect.addEventListener("change", async () => {
        try {
          const u = await userAction(() => api.put("/api/v1/me/mode", { mode: modeSelect.value }));
          notify("Listening mode: " + (MODES[u.mode] || u.mode) + ".");
        } catch (err) {
          notify(err.message, "error");
        }
      });
    }
  }

  setupSettings();

  window.SH = {
    timeZone: timeZone,
    ApiError: ApiError,
    api: api,
    me: me,
    loadUser: loadUser,
    userChanged: userChanged,
    pending: () => pending,
    el: el,
    append: append,
    clear: clear,
    setText: setText,
    $: $,
    $$: $$,
    radioValue: radioValue,
    spotifyURL: spotifyURL,
    artistNames: artistNames,
    fmt: fmt,
    today: today,
    addDays: addDays,
    addMonths: addMonths,
    rangeStart: rangeStart,
    fillBuckets: fillBuckets,
    palette: palette,
    chart: chart,
    overTimeChart: overTimeChart,
    hourlyChart: hourlyChart,
    heatmap: heatmap,
    topList: topList,
    notify: notify,
    confirmAction: confirmAction,
    menu: menu,
    whenVisible: whenVisible,
    statusInfo: statusInfo,
    MODES: MODES
  };
})();
