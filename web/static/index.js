// The public page (/): global statistics of everyone on the instance, from
// /api/v1/stats/*. A 404 there means the operator switched them off.
(function () {
  "use strict";

  const SH = window.SH;
  const { api, fmt, $, setText, radioValue } = SH;
  const box = $("#public-stats");

  function off() {
    if (box) {
      box.hidden = true;
    }
    $("#public-off").hidden = false;
  }

  // fail shows why a part could not load; a 404 switches the whole section off.
  function fail(err) {
    if (err.status === 404) {
      off();
      return;
    }
    SH.notify("Could not load the statistics: " + err.message, "error");
  }

  if (!box) {
    window.__pageReady = Promise.resolve({ ms: performance.now(), charts: 0, errors: 0 });
    return;
  }

  function loadTotals() {
    return api.get("/api/v1/stats/totals").then((t) => {
      setText($('[data-stat="plays"]'), fmt.int(t.plays));
      setText($('[data-stat="hours"]'), fmt.hours(t.ms_played));
      setText($('[data-stat="unique_artists"]'), fmt.int(t.unique_artists));
      setText($('[data-stat="unique_tracks"]'), fmt.int(t.unique_tracks));
    });
  }

  // Listening over time: the last month by day, the last year by week, or
  // everything by month.
  const PERIODS = {
    month: { bucket: "day", params: () => ({ from: SH.addMonths(SH.today(), -1) }), from: () => SH.addMonths(SH.today(), -1), note: "Plays per day over the last month." },
    year: { bucket: "week", params: () => ({ range: "1y" }), from: () => SH.rangeStart("1y"), note: "Plays per week over the last year." },
    all: { bucket: "month", params: () => ({ range: "all" }), from: () => "", note: "Plays per month since the beginning." }
  };
  let otSeq = 0;

  function loadOverTime() {
    const period = PERIODS[radioValue("ot-period") || "month"];
    const seq = ++otSeq;
    setText($("#over-time-note"), period.note);
    return api.get("/api/v1/stats/over-time", Object.assign({ bucket: period.bucket }, period.params())).then((r) => {
      if (seq !== otSeq) {
        return null;
      }
      const from = period.from();
      return SH.overTimeChart($("#chart-over-time"), r.points, period.bucket, from, from ? SH.today() : "");
    });
  }

  let hrSeq = 0;
  function loadHourly() {
    const range = radioValue("hr-period") || "1y";
    const seq = ++hrSeq;
    return api.get("/api/v1/stats/hour-weekday", { range: range }).then((hw) => {
      if (seq !== hrSeq) {
        return null;
      }
      $("#hourly-note").dataset.range = range;
      setText($("#hourly-note"), hw.days ? "Average plays per hour over " + fmt.int(hw.days) + " days with listening." : "Nothing recorded in this period yet.");
      return SH.hourlyChart($("#chart-hourly"), hw.average_by_hour, "plays on average");
    });
  }

  for (const input of document.querySelectorAll('input[name="ot-period"]')) {
    input.addEventListener("change", () => loadOverTime().catch(fail));
  }
  for (const input of document.querySelectorAll('input[name="hr-period"]')) {
    input.addEventListener("change", () => loadHourly().catch(fail));
  }

  let errors = 0;
  const count = (err) => {
    errors++;
    fail(err);
  };
  window.__pageReady = Promise.all([loadTotals().catch(count), loadOverTime().catch(count), loadHourly().catch(count)]).then(() => ({
    ms: performance.now(),
    charts: Object.keys(window.Chart.instances).length,
    errors: errors
  }));
})();
