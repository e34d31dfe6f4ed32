// The user page (/me): status, totals, charts, top lists, history, play
// counts, playlists and imports, all from the JSON API.
//
// Everything above the fold is requested at once, in parallel; play counts
// and playlists load when they scroll into view (their card's data-lazy
// attribute says how far they got, see SH.whenVisible). Readiness, for
// scripts and tests:
//   - window.__dashboardReady resolves when every chart and list above the
//     fold has been drawn, with {ms, charts, errors} (ms = performance.now()
//     at that moment);
//   - window.__pageReady resolves, with the same object, once everything the
//     page loads at the start has been shown (also the year links and the
//     imports), so that nothing moves any more until the user acts;
//   - SH.pending() is the number of API calls still in flight.
(function () {
  "use strict";

  const SH = window.SH;
  const { api, el, fmt, $, clear, setText, radioValue } = SH;
  const localMode = document.body.dataset.localMode === "true";

  let errors = 0;
  // settle turns a failure into a message in `where` so that one broken
  // part never blocks the rest of the page.
  const settle = (p, where) =>
    p.catch((err) => {
      errors++;
      if (where) {
        clear(where);
        where.classList.remove("loading");
        where.appendChild(el("p", { class: "error-text" }, "Could not load: " + err.message));
      } else {
        SH.notify(err.message, "error");
      }
    });

  // ---------- Status ----------

  function renderUser(user) {
    const badge = $("#status-badge");
    const info = SH.statusInfo(user.status);
    badge.className = "badge status-badge status-" + user.status;
    clear(badge);
    badge.appendChild(document.createTextNode(info.text));
    let title = info.title;
    const listening = user.tasks && user.tasks.listening;
    if (listening && listening.last_error) {
      title += " Last error: " + listening.last_error;
    }
    badge.title = title;
    if (user.status === "needs_reauth") {
      badge.appendChild(document.createTextNode(" · "));
      badge.appendChild(el("a", { href: "/login" }, "log in again"));
    }
    const mode = $("#mode-badge");
    mode.hidden = localMode;
    mode.textContent = "Mode: " + (SH.MODES[user.mode] || user.mode);
    mode.title = "Listening mode; change it in Settings";
  }

  document.addEventListener("userchange", (e) => renderUser(e.detail));

  // Status changes in the background (a worker picks the user up); refresh
  // it while the page is visible. (SH.loadUser drops an answer that a
  // settings action overtook.)
  window.setInterval(() => {
    if (document.visibilityState === "visible") {
      SH.loadUser(true).catch(() => {});
    }
  }, 30000);

  // ---------- Totals and years ----------

  function loadTotals() {
    return api.get("/api/v1/me/stats/totals").then((t) => {
      setText($('[data-stat="plays"]'), fmt.int(t.plays));
      setText($('[data-stat="hours"]'), fmt.hours(t.ms_played));
      setText($('[data-stat="unique_tracks"]'), fmt.int(t.unique_tracks));
      setText($('[data-stat="unique_artists"]'), fmt.int(t.unique_artists));
      setText($('[data-stat="unique_albums"]'), fmt.int(t.unique_albums));
      if (t.first_played) {
        setText($("#since"), "Listening recorded since " + fmt.date(t.first_played) + "; last play " + fmt.dateTime(t.last_played) + ".");
      } else {
        setText($("#since"), localMode ? "Nothing here yet: import your Spotify data export below." : "Nothing recorded yet: play something on Spotify, or import your data export below.");
      }
    });
  }

  function loadYears() {
    return api.get("/api/v1/me/stats/years").then((r) => {
      const nav = $("#years");
      for (const chip of nav.querySelectorAll(".chip")) {
        chip.remove();
      }
      const years = r.years.slice().reverse();
      for (const y of years) {
        nav.appendChild(el("a", { class: "chip", href: "/me/year/" + encodeURIComponent(y.year), title: fmt.plays(y.plays) + " · " + fmt.duration(y.ms_played) }, String(y.year)));
      }
      nav.hidden = years.length === 0;
    });
  }

  // ---------- Listening over time ----------

  const overTimeCanvas = $("#chart-over-time");
  let overTimeSeq = 0;

  // loadOverTime draws the chart; on the first load, a default range with
  // no plays in it (an import of old history) widens to all time by month.
  function loadOverTime(first) {
    const bucket = radioValue("ot-bucket") || "week";
    const range = $("#ot-range").value;
    const seq = ++overTimeSeq;
    setText($("#over-time-note"), "Plays per " + bucket + ".");
    return api.get("/api/v1/me/stats/over-time", { bucket: bucket, range: range }).then((r) => {
      if (seq !== overTimeSeq) {
        return null; // a newer choice is on its way
      }
      if (first && !r.points.length && range !== "all") {
        $("#ot-range").value = "all";
        $("#ot-month").checked = true;
        return loadOverTime(false);
      }
      return SH.overTimeChart(overTimeCanvas, r.points, bucket, SH.rangeStart(range), range === "all" ? "" : SH.today());
    });
  }

  for (const input of document.querySelectorAll('input[name="ot-bucket"]')) {
    input.addEventListener("change", () => settle(loadOverTime()));
  }
  $("#ot-range").addEventListener("change", () => settle(loadOverTime()));

  // ---------- Hourly averages and heat map ----------

  const hourlyCanvas = $("#chart-hourly");
  const dateInput = $("#hr-date");
  dateInput.max = SH.today();
  dateInput.value = SH.today();
  let lifetimeHW = null; // GET hour-weekday for all time, shared by both cards
  let hourlySeq = 0;

  function hourWeekday(params) {
    return api.get("/api/v1/me/stats/hour-weekday", params);
  }

  function lifetime() {
    if (!lifetimeHW) {
      lifetimeHW = hourWeekday({ range: "all" });
      lifetimeHW.catch(() => {
        lifetimeHW = null;
      });
    }
    return lifetimeHW;
  }

  function loadHourly() {
    const scope = radioValue("hr-scope") || "all";
    $("#hr-date-field").hidden = scope !== "day";
    const seq = ++hourlySeq;
    let req;
    if (scope === "all") {
      req = lifetime();
    } else if (scope === "1y") {
      req = hourWeekday({ range: "1y" });
    } else {
      const day = dateInput.value || SH.today();
      req = hourWeekday({ from: day, to: day });
    }
    return req.then((hw) => {
      if (seq !== hourlySeq) {
        return null;
      }
      if (scope === "day") {
        // One day: the plays of each hour (the average over one day).
        const values = hw.average_by_hour.map((v) => Math.round(v * hw.days));
        setText($("#hourly-note"), "Plays per hour on " + fmt.day(dateInput.value || SH.today()) + ".");
        return SH.hourlyChart(hourlyCanvas, values, "plays");
      }
      setText($("#hourly-note"), hw.days ? "Average plays per hour over the " + fmt.int(hw.days) + " days you listened." : "No plays in this period.");
      return SH.hourlyChart(hourlyCanvas, hw.average_by_hour, "plays on average");
    });
  }

  for (const input of document.querySelectorAll('input[name="hr-scope"]')) {
    input.addEventListener("change", () => settle(loadHourly()));
  }
  dateInput.addEventListener("change", () => settle(loadHourly()));

  let heatSeq = 0;
  function loadHeatmap() {
    const range = $("#hm-range").value;
    const seq = ++heatSeq;
    const req = range === "all" ? lifetime() : hourWeekday({ range: range });
    return req.then((hw) => {
      if (seq !== heatSeq) {
        return;
      }
      const box = $("#heatmap");
      box.classList.remove("loading");
      const peak = SH.heatmap(box, hw.plays);
      setText($("#heatmap-note"), peak ? "You listen most on " + peak + "." : "No plays in this range.");
    });
  }
  $("#hm-range").addEventListener("change", () => settle(loadHeatmap(), $("#heatmap")));

  // ---------- Top lists ----------

  const topFrom = $("#top-from");
  const topTo = $("#top-to");
  topTo.max = SH.today();
  topFrom.max = SH.today();
  let topSeq = 0;

  function topParams() {
    const range = $("#top-range").value;
    const p = { by: radioValue("top-by") || "count", limit: 10 };
    if (range === "custom") {
      if (topFrom.value) {
        p.from = topFrom.value;
      }
      if (topTo.value) {
        p.to = topTo.value;
      }
    } else {
      p.range = range;
    }
    return p;
  }

  function topNote(p) {
    const what = p.by === "time" ? "Most listened to (by time)" : "Most played";
    const names = { "4w": "in the last 4 weeks", "6m": "in the last 6 months", "1y": "in the last year", all: "of all time" };
    if (p.range) {
      return what + " " + names[p.range] + ".";
    }
    const from = p.from ? fmt.day(p.from) : "the beginning";
    const to = p.to ? fmt.day(p.to) : "today";
    return what + " from " + from + " to " + to + ".";
  }

  // loadTop fills the three lists; on the first load, an empty default
  // range widens to all time.
  function loadTop(first) {
    const p = topParams();
    const seq = ++topSeq;
    setText($("#top-note"), topNote(p));
    const kinds = ["tracks", "artists", "albums"];
    return Promise.all(kinds.map((kind) => api.get("/api/v1/me/stats/top", Object.assign({ kind: kind }, p)))).then((rs) => {
      if (seq !== topSeq) {
        return null;
      }
      if (first && !rs[0].items.length && p.range && p.range !== "all") {
        $("#top-range").value = "all";
        return loadTop(false);
      }
      kinds.forEach((kind, i) => SH.topList($("#top-" + kind), rs[i].items, kind, p.by));
      return null;
    });
  }

  $("#top-range").addEventListener("change", () => {
    const custom = $("#top-range").value === "custom";
    $("#top-custom").hidden = !custom;
    if (custom) {
      if (!topFrom.value) {
        topFrom.value = SH.addMonths(SH.today(), -1);
      }
      if (!topTo.value) {
        topTo.value = SH.today();
      }
      topFrom.focus();
      return;
    }
    settle(loadTop());
  });
  $("#top-apply").addEventListener("click", () => {
    if (topFrom.value && topTo.value && topFrom.value > topTo.value) {
      SH.notify("The start of the range must not be after its end.", "error");
      return;
    }
    settle(loadTop());
  });
  for (const input of document.querySelectorAll('input[name="top-by"]')) {
    input.addEventListener("change", () => settle(loadTop()));
  }

  // ---------- History ----------

  const historyBody = $("#history-table tbody");
  const historyMore = $("#history-more");
  let historyNext = null;
  let historyRows = 0;
  let historySeq = 0;
  setText($("#history-tz"), SH.timeZone);

  function trackCell(track) {
    const href = SH.spotifyURL("track", track.id);
    return el("td", null, href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, track.name) : track.name, track.is_local ? el("span", { class: "tag" }, "local") : null);
  }

  // loadHistory shows the newest plays (reset) or appends the next page. A
  // reset wins over pages still on their way.
  function loadHistory(reset) {
    const seq = reset ? ++historySeq : historySeq;
    historyMore.disabled = true;
    return api
      .get("/api/v1/me/history", { limit: 50, cursor: reset ? null : historyNext })
      .then((r) => {
        if (seq !== historySeq) {
          return;
        }
        if (reset) {
          clear(historyBody);
          historyRows = 0;
        }
        for (const it of r.items) {
          historyBody.appendChild(
            el(
              "tr",
              null,
              el("td", { class: "nowrap" }, el("time", { datetime: it.played_at }, fmt.dateTime(it.played_at))),
              trackCell(it.track),
              el("td", null, SH.artistNames(it.track.artists)),
              el("td", { class: "muted" }, it.track.album ? it.track.album.name : ""),
              el("td", { class: "num" }, it.ms_played ? fmt.clock(it.ms_played) : "–"),
              el("td", null, el("span", { class: "tag" }, it.source))
            )
          );
        }
        historyRows += r.items.length;
        historyNext = r.next;
        historyMore.hidden = !historyNext;
        setText($("#history-count"), historyRows ? fmt.int(historyRows) + " plays shown" : "No plays recorded yet.");
      })
      .finally(() => {
        if (seq === historySeq) {
          historyMore.disabled = false;
        }
      });
  }
  historyMore.addEventListener("click", () => settle(loadHistory(false)));

  // ---------- Play counts ----------

  const COUNTS_PAGE = 25;
  let countsOffset = 0;
  let countsSeq = 0;
  const countsBody = $("#counts-table tbody");
  const countsCard = $("#counts-card");

  function loadCounts() {
    const seq = ++countsSeq;
    const offset = countsOffset;
    $("#counts-prev").disabled = true;
    $("#counts-next").disabled = true;
    return api.get("/api/v1/me/stats/top", { kind: "tracks", by: "count", range: "all", limit: COUNTS_PAGE + 1, offset: offset }).then((r) => {
      if (seq !== countsSeq) {
        return; // another page was asked for meanwhile
      }
      const more = r.items.length > COUNTS_PAGE;
      clear(countsBody);
      for (const it of r.items.slice(0, COUNTS_PAGE)) {
        countsBody.appendChild(
          el(
            "tr",
            null,
            el("td", { class: "num muted" }, String(it.rank)),
            trackCell(it),
            el("td", null, SH.artistNames(it.artists)),
            el("td", { class: "num" }, fmt.int(it.plays)),
            el("td", { class: "num" }, fmt.duration(it.ms_played)),
            el("td", { class: "nowrap muted" }, it.last_played ? el("time", { datetime: it.last_played }, fmt.date(it.last_played)) : "–")
          )
        );
      }
      if (!r.items.length) {
        countsBody.appendChild(el("tr", null, el("td", { colspan: 6, class: "muted" }, offset ? "No more tracks." : "No plays recorded yet.")));
      }
      $("#counts-prev").disabled = offset === 0;
      $("#counts-next").disabled = !more;
      setText($("#counts-page"), r.items.length ? "Tracks " + fmt.int(offset + 1) + "–" + fmt.int(offset + Math.min(r.items.length, COUNTS_PAGE)) : "");
    });
  }
  $("#counts-prev").addEventListener("click", () => {
    countsOffset = Math.max(0, countsOffset - COUNTS_PAGE);
    settle(loadCounts());
  });
  $("#counts-next").addEventListener("click", () => {
    countsOffset += COUNTS_PAGE;
    settle(loadCounts());
  });

  // ---------- Playlists ----------

  const playlistList = $("#playlists");
  const playlistStatus = $("#playlists-status");

  let playlistSeq = 0;
  function loadPlaylists() {
    const seq = ++playlistSeq;
    return api.get("/api/v1/me/playlists").then((r) => {
      if (seq !== playlistSeq) {
        return; // a newer list is on its way
      }
      clear(playlistList);
      for (const p of r.items) {
        playlistList.appendChild(playlistItem(p));
      }
      setText(playlistStatus, r.items.length ? "" : localMode ? "No playlists." : "No playlists yet: scan to fetch yours, or add one by its link.");
    });
  }

  function playlistItem(p) {
    const details = el("div", { class: "playlist-tracks", id: "playlist-tracks-" + p.id, hidden: true });
    const songs = el("button", { type: "button", class: "button small ghost", "aria-expanded": "false", "aria-controls": details.id, "aria-label": "Songs of " + p.name }, "Songs");
    const remove = el("button", { type: "button", class: "button small ghost", "aria-label": "Remove " + p.name }, "Remove");
    const href = SH.spotifyURL("playlist", p.id);
    const meta = [p.owner_name || p.owner_id ? "by " + (p.owner_name || p.owner_id) : "", fmt.int(p.track_count) + " songs", p.scanned_at ? "scanned " + fmt.dateTime(p.scanned_at) : "not scanned yet"].filter(Boolean).join(" · ");
    const li = el(
      "li",
      { class: "playlist" },
      el(
        "div",
        { class: "playlist-head" },
        el("div", { class: "title" }, el("strong", { title: p.name }, href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, p.name) : p.name, el("span", { class: "tag" }, p.origin)), el("span", null, meta)),
        el("div", { class: "actions" }, songs, remove)
      ),
      details
    );
    let loaded = false;
    songs.addEventListener("click", () => {
      const open = details.hidden;
      details.hidden = !open;
      songs.setAttribute("aria-expanded", String(open));
      if (open && !loaded) {
        loaded = true;
        details.appendChild(el("p", { class: "note" }, "Loading songs…"));
        settle(
          api.get("/api/v1/me/playlists/" + encodeURIComponent(p.id) + "/tracks").then((r) => renderPlaylistTracks(details, r.items)),
          details
        );
      }
    });
    remove.addEventListener("click", async () => {
      const yes = await SH.confirmAction({ title: "Remove playlist?", message: "“" + p.name + "” will no longer be tracked for you. Your plays stay.", confirm: "Remove", danger: true });
      if (!yes) {
        return;
      }
      try {
        await api.del("/api/v1/me/playlists/" + encodeURIComponent(p.id));
        li.remove();
        SH.notify("Playlist removed.");
      } catch (err) {
        SH.notify(err.message, "error");
      }
    });
    return li;
  }

  function renderPlaylistTracks(box, items) {
    clear(box);
    if (!items.length) {
      box.appendChild(el("p", { class: "note" }, "No songs known yet: scan the playlist."));
      return;
    }
    const body = el("tbody");
    for (const row of items) {
      body.appendChild(
        el(
          "tr",
          null,
          el("td", { class: "num muted" }, String(row.position + 1)),
          row.track.name ? trackCell(row.track) : el("td", { class: "muted" }, row.status === "unplayable" ? "Removed from Spotify" : "Unknown track"),
          el("td", null, SH.artistNames(row.track.artists)),
          el("td", null, el("span", { class: "tag " + row.status }, row.status)),
          el("td", { class: "num" }, fmt.int(row.plays)),
          el("td", { class: "nowrap muted" }, row.last_played ? el("time", { datetime: row.last_played }, fmt.date(row.last_played)) : "never")
        )
      );
    }
    box.appendChild(
      el(
        "div",
        { class: "table-wrap scroll-y", tabindex: 0, role: "region", "aria-label": "Songs of the playlist" },
        el(
          "table",
          { class: "data" },
          el("thead", null, el("tr", null, el("th", { scope: "col", class: "num" }, "#"), el("th", { scope: "col" }, "Track"), el("th", { scope: "col" }, "Artists"), el("th", { scope: "col" }, "Status"), el("th", { scope: "col", class: "num" }, "Plays"), el("th", { scope: "col" }, "Last played"))),
          body
        )
      )
    );
  }

  const playlistForm = $("#playlist-form");
  if (playlistForm) {
    playlistForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("#playlist-url");
      const button = playlistForm.querySelector("button");
      button.disabled = true;
      setText(playlistStatus, "Adding…");
      try {
        const p = await api.post("/api/v1/me/playlists", { url: input.value.trim() });
        input.value = "";
        setText(playlistStatus, "Added “" + p.name + "”.");
        await loadPlaylists();
      } catch (err) {
        setText(playlistStatus, err.message);
      } finally {
        button.disabled = false;
      }
    });
  }
  const scanButton = $("#playlists-scan");
  if (scanButton) {
    scanButton.addEventListener("click", async () => {
      scanButton.disabled = true;
      setText(playlistStatus, "Scanning your playlists on Spotify…");
      try {
        await api.post("/api/v1/me/playlists/scan");
        setText(playlistStatus, "Scan finished.");
        await loadPlaylists();
      } catch (err) {
        setText(playlistStatus, err.message);
      } finally {
        scanButton.disabled = false;
      }
    });
  }

  // ---------- Import ----------

  const importJobs = $("#import-jobs");
  const importStatus = $("#import-status");
  const jobNodes = new Map();
  const polling = new Set();

  const REASONS = {
    too_short: "Shorter than 30 s",
    incognito: "Private session",
    podcast: "Podcast episodes",
    episode: "Podcast episodes",
    video: "Videos",
    audiobook: "Audiobooks",
    no_track_uri: "Without a track",
    malformed: "Unreadable entries",
    duplicate_existing: "Already recorded",
    duplicate_of_existing: "Already recorded",
    duplicate_in_file: "Repeated in the file",
    duplicate_within_file: "Repeated in the file",
    skipped: "Marked as skipped"
  };

  function reasonName(key) {
    if (REASONS[key]) {
      return REASONS[key];
    }
    const s = String(key).replace(/[_-]+/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  const STATES = { analysed: "Ready to import", running: "Importing", done: "Imported", failed: "Failed", discarded: "Discarded" };

  function renderJob(job) {
    let node = jobNodes.get(job.id);
    if (!node) {
      node = el("article", { class: "import-job", "aria-live": "polite" });
      jobNodes.set(job.id, node);
      importJobs.prepend(node);
    }
    clear(node);
    node.dataset.state = job.state;
    node.appendChild(el("h3", null, job.file_name || "Upload", el("span", { class: "tag" + (job.state === "done" ? " playable" : job.state === "failed" ? " unplayable" : "") }, STATES[job.state] || job.state)));
    const a = job.analysis;
    if (a) {
      const counters = el("dl", { class: "counters" });
      const row = (name, value, cls) => counters.appendChild(el("div", { class: cls || null }, el("dt", null, name), el("dd", null, fmt.int(value))));
      row("Entries in the file", a.total, "total");
      row("To import", a.to_import, "total");
      for (const key of Object.keys(a.excluded || {}).sort()) {
        if (a.excluded[key]) {
          row(reasonName(key), a.excluded[key]);
        }
      }
      node.appendChild(counters);
      if (a.first_played_at && a.last_played_at) {
        node.appendChild(el("p", { class: "note" }, "Plays from " + fmt.date(a.first_played_at) + " to " + fmt.date(a.last_played_at) + "."));
      }
      const prev = a.previous_import;
      if (prev && job.state === "analysed") {
        node.appendChild(el("p", { class: "note" }, "This file was imported before, on " + fmt.dateTime(prev.created_at) + " (" + fmt.plays(prev.imported) + " added); importing it again adds only what is missing."));
      }
      const years = Object.keys(a.years || {}).sort();
      if (years.length) {
        const yl = el("dl", { class: "counters" });
        for (const y of years) {
          yl.appendChild(el("div", null, el("dt", null, y), el("dd", null, fmt.int(a.years[y]))));
        }
        node.appendChild(el("p", { class: "note" }, "Plays to import by year:"));
        node.appendChild(yl);
      }
    }
    if (job.state === "running" || (job.state === "failed" && job.processed > 0)) {
      const total = Math.max(job.total, 1);
      const pct = Math.min(100, Math.floor((job.processed / total) * 100));
      node.appendChild(el("progress", { max: total, value: job.processed, "aria-label": "Import progress" }, pct + "%"));
      node.appendChild(el("p", { class: "note" }, fmt.int(job.processed) + " of " + fmt.int(job.total) + " entries (" + pct + " %) · " + fmt.int(job.imported) + " plays added · " + fmt.int(job.duplicates) + " already recorded"));
    }
    if (job.state === "done") {
      node.appendChild(el("p", null, fmt.int(job.imported) + " plays added, " + fmt.int(job.duplicates) + " were already recorded."));
    }
    if (job.error) {
      node.appendChild(el("p", { class: "error-text" }, job.error));
    }
    const actions = el("div", { class: "job-actions" });
    if (job.state === "analysed" || job.state === "failed") {
      const run = el("button", { type: "button", class: "button primary" }, job.state === "failed" ? "Resume import" : "Import " + fmt.plays(a ? a.to_import : 0));
      run.addEventListener("click", async () => {
        run.disabled = true;
        try {
          renderJob(await api.post("/api/v1/me/imports/" + encodeURIComponent(job.id) + "/execute"));
          poll(job.id);
        } catch (err) {
          run.disabled = false;
          SH.notify(err.message, "error");
        }
      });
      actions.appendChild(run);
    }
    if (job.state === "analysed") {
      const discard = el("button", { type: "button", class: "button ghost" }, "Discard");
      discard.addEventListener("click", async () => {
        try {
          await api.del("/api/v1/me/imports/" + encodeURIComponent(job.id));
          node.remove();
          jobNodes.delete(job.id);
        } catch (err) {
          SH.notify(err.message, "error");
        }
      });
      actions.appendChild(discard);
    }
    if (actions.childNodes.length) {
      node.appendChild(actions);
    }
  }

  // poll follows a running import until it ends, then refreshes the page's
  // figures.
  function poll(id) {
    if (polling.has(id)) {
      return;
    }
    polling.add(id);
    const tick = async () => {
      try {
        const job = await api.get("/api/v1/me/imports/" + encodeURIComponent(id));
        renderJob(job);
        if (job.state === "running") {
          window.setTimeout(tick, 700);
          return;
        }
        polling.delete(id);
        if (job.state === "done") {
          SH.notify("Import finished: " + fmt.plays(job.imported) + " added.");
          refreshStats();
        }
      } catch (err) {
        polling.delete(id);
        SH.notify(err.message, "error");
      }
    };
    tick();
  }

  function loadImports() {
    return api.get("/api/v1/me/imports").then((r) => {
      for (const job of r.items.slice().reverse()) {
        if (job.state === "discarded") {
          continue;
        }
        renderJob(job);
        if (job.state === "running") {
          poll(job.id);
        }
      }
    });
  }

  $("#import-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#import-file");
    const file = input.files && input.files[0];
    if (!file) {
      setText(importStatus, "Choose your export file first.");
      return;
    }
    const button = $("#import-submit");
    button.disabled = true;
    setText(importStatus, "Uploading and analysing " + file.name + "…");
    try {
      const job = await api.upload("/api/v1/me/imports", { name: file.name }, file);
      setText(importStatus, "");
      input.value = "";
      renderJob(job);
    } catch (err) {
      setText(importStatus, err.status === 404 ? "Imports are switched off on this instance." : err.message);
    } finally {
      button.disabled = false;
    }
  });

  // ---------- Start ----------

  // refreshStats reloads every figure (after an import).
  function refreshStats() {
    lifetimeHW = null;
    countsOffset = 0;
    const counts = countsCard.dataset.lazy === "waiting" ? null : settle(loadCounts());
    return Promise.all([settle(loadTotals()), settle(loadYears()), settle(loadOverTime(true)), settle(loadHourly()), settle(loadHeatmap(), $("#heatmap")), settle(loadTop(true)), settle(loadHistory(true)), counts]);
  }

  const started = [
    settle(SH.loadUser()),
    settle(loadTotals()),
    settle(loadOverTime(true), overTimeCanvas.parentElement),
    settle(loadHourly(), hourlyCanvas.parentElement),
    settle(loadHeatmap(), $("#heatmap")),
    settle(loadTop(true)),
    settle(loadHistory(true))
  ];
  const alsoStarted = [settle(loadYears()), settle(loadImports())];

  SH.whenVisible(countsCard, () => settle(loadCounts()));
  SH.whenVisible($("#playlists-card"), () => settle(loadPlaylists()));

  const info = () => ({
    ms: performance.now(),
    charts: typeof window.Chart === "undefined" ? 0 : Object.keys(window.Chart.instances).length,
    errors: errors
  });
  window.__dashboardReady = Promise.all(started).then(info);
  window.__pageReady = Promise.all(started.concat(alsoStarted)).then(info);
})();
