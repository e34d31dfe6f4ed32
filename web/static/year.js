// "Your year" (/me/year/{year}): the year's summary from
// /api/v1/me/stats/years, its months, hours and top lists from the stats
// endpoints with from/to set to the year.
(function () {
  "use strict";

  const SH = window.SH;
  const { api, el, fmt, $, setText, radioValue } = SH;
  const year = Number(document.body.dataset.year);
  const from = year + "-01-01";
  const to = year + "-12-31";
  const range = { from: from, to: to };
  let errors = 0;
  const settle = (p) =>
    p.catch((err) => {
      errors++;
      SH.notify(err.message, "error");
    });

  function loadYears() {
    return api.get("/api/v1/me/stats/years").then((r) => {
      const nav = $("#years");
      for (const y of r.years.slice().reverse()) {
        nav.appendChild(el("a", { class: "chip", href: "/me/year/" + encodeURIComponent(y.year), "aria-current": y.year === year ? "page" : null }, String(y.year)));
      }
      const y = r.years.find((x) => x.year === year);
      if (!y) {
        setText($("#year-note"), "No plays recorded in " + year + ".");
        return;
      }
      setText($('[data-stat="plays"]'), fmt.int(y.plays));
      setText($('[data-stat="hours"]'), fmt.hours(y.ms_played));
      setText($('[data-stat="unique_tracks"]'), fmt.int(y.unique_tracks));
      setText($('[data-stat="unique_artists"]'), fmt.int(y.unique_artists));
      if (y.top_track) {
        setText($("#top-track-name"), y.top_track.name);
        setText($("#top-track-sub"), SH.artistNames(y.top_track.artists) + " · " + fmt.plays(y.top_track.plays));
      }
      if (y.top_artist) {
        setText($("#top-artist-name"), y.top_artist.name);
        setText($("#top-artist-sub"), fmt.plays(y.top_artist.plays) + " · " + fmt.duration(y.top_artist.ms_played));
      }
    });
  }

  let otSeq = 0;
  function loadOverTime() {
    const bucket = radioValue("ot-bucket") || "month";
    const seq = ++otSeq;
    setText($("#over-time-note"), "Plays per " + bucket + ".");
    return api.get("/api/v1/me/stats/over-time", Object.assign({ bucket: bucket }, range)).then((r) => {
      if (seq === otSeq) {
        return SH.overTimeChart($("#chart-over-time"), r.points, bucket, from, to);
      }
      return null;
    });
  }
  for (const input of document.querySelectorAll('input[name="ot-bucket"]')) {
    input.addEventListener("change", () => settle(loadOverTime()));
  }

  function loadHours() {
    return api.get("/api/v1/me/stats/hour-weekday", range).then((hw) => {
      const box = $("#heatmap");
      box.classList.remove("loading");
      const peak = SH.heatmap(box, hw.plays);
      setText($("#heatmap-note"), peak ? "You listened most on " + peak + "." : "No plays this year.");
      setText($("#hourly-note"), hw.days ? "Average plays per hour over the " + fmt.int(hw.days) + " days you listened." : "No plays this year.");
      return SH.hourlyChart($("#chart-hourly"), hw.average_by_hour, "plays on average");
    });
  }

  let topSeq = 0;
  function loadTop() {
    const by = radioValue("top-by") || "count";
    const seq = ++topSeq;
    setText($("#top-note"), by === "time" ? "Most listened to, by time." : "Most played.");
    return Promise.all(
      ["tracks", "artists", "albums"].map((kind) =>
        api.get("/api/v1/me/stats/top", Object.assign({ kind: kind, by: by, limit: 10 }, range)).then((r) => {
          if (seq === topSeq) {
            SH.topList($("#top-" + kind), r.items, kind, by);
          }
        })
      )
    );
  }
  for (const input of document.querySelectorAll('input[name="top-by"]')) {
    input.addEventListener("change", () => settle(loadTop()));
  }

  window.__pageReady = Promise.all([settle(loadYears()), settle(loadOverTime()), settle(loadHours()), settle(loadTop())]).then(() => ({
    ms: performance.now(),
    charts: Object.keys(window.Chart.instances).length,
    errors: errors
  }));
})();
