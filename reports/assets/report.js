// faultline report: draws the latency and throughput charts (uPlot) and the paged per-worker
// history timeline (canvas) from the JSON block #fl-data written by reports/html.cpp.
// When everything is drawn, <body data-charts="drawn">; on an error, data-charts="error".
(function () {
  'use strict';
  var colors = { ok: '#2e7d32', fail: '#ef6c00', info: '#7b1fa2' };
  var outcomes = ['ok', 'fail', 'info'];
  var faultFill = 'rgba(211, 47, 47, 0.12)';
  var data = JSON.parse(document.getElementById('fl-data').textContent);
  var tick = data.tick_ns / 1e9;  // seconds per tick
  var ops = data.ops;
  var count = ops.s.length;

  function chartWidth() {
    return Math.max(600, Math.min(1200, document.documentElement.clientWidth - 60));
  }

  // uPlot hook: shade the fault windows behind the series.
  function shadeFaults(u) {
    var ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = faultFill;
    data.windows.forEach(function (w) {
      var left = Math.max(u.valToPos(w[0] * tick, 'x', true), u.bbox.left);
      var right = Math.min(u.valToPos(w[1] * tick, 'x', true), u.bbox.left + u.bbox.width);
      if (right > left) ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
    });
    ctx.restore();
  }

  function pointSeries(name) {
    return {
      label: name, stroke: colors[name], fill: colors[name], paths: function () { return null; },
      points: { show: true, size: 4, width: 0, stroke: colors[name], fill: colors[name] },
      value: function (u, v) { return v == null ? '–' : v.toFixed(2) + ' ms'; }
    };
  }

  function latencyChart() {
    var x = [], ys = [[], [], []];
    for (var i = 0; i < count; i++) {
      if (ops.d[i] < 0) continue;  // never completed: no latency
      x.push(ops.s[i] * tick);
      var ms = Math.max(ops.d[i] * tick * 1000, 0.01);
      for (var k = 0; k < 3; k++) ys[k].push(ops.o[i] === k ? ms : null);
    }
    new uPlot({
      title: 'Latency of every op (ms, log scale) against invocation time (s)',
      width: chartWidth(), height: 320,
      scales: { x: { time: false }, y: { distr: 3 } },
      axes: [{ label: 'seconds since start' }, { label: 'latency (ms)' }],
      series: [{ label: 's', value: function (u, v) { return v == null ? '–' : v.toFixed(3) + ' s'; } }]
        .concat(outcomes.map(pointSeries)),
      hooks: { drawClear: [shadeFaults] }
    }, [x].concat(ys), document.getElementById('latency-chart'));
  }

  function throughputChart() {
    var t = data.throughput, x = [];
    for (var i = 0; i < t.ok.length; i++) x.push(i + 0.5);
    new uPlot({
      title: 'Throughput: ops completed per second, by outcome',
      width: chartWidth(), height: 240,
      scales: { x: { time: false } },
      axes: [{ label: 'seconds since start' }, { label: 'ops/s' }],
      series: [{ label: 's' }].concat(outcomes.map(function (name) {
        return { label: name, stroke: colors[name], width: 2 };
      })),
      hooks: { drawClear: [shadeFaults] }
    }, [x, t.ok, t.fail, t.info], document.getElementById('throughput-chart'));
  }

  function samplingNote() {
    var note = document.getElementById('sampling-note');
    if (data.ok_stride > 1) {
      note.textContent = 'This run has ' + data.total_ops + ' ops: the latency chart and the timeline show ' +
        'every failed and unknown op and every ' + data.ok_stride + 'th ok op; throughput counts them all.';
    } else {
      note.textContent = 'All ' + data.total_ops + ' client ops are shown.';
    }
  }

  // The paged timeline: lanes are workers (ops.w, from the run record), time runs left to right.
  function timeline() {
    var canvas = document.getElementById('timeline-canvas');
    var tip = document.getElementById('timeline-tip');
    var laneOf = {}, lanes = [];
    for (var i = 0; i < count; i++) {
      var lane = ops.w[i];
      if (!(lane in laneOf)) { laneOf[lane] = 0; lanes.push(lane); }
    }
    lanes.sort(function (a, b) { return a - b; });
    lanes.forEach(function (lane, index) { laneOf[lane] = index; });
    var laneHeight = 22, top = 24, left = 80, bottom = 22;
    var endSeconds = data.end * tick;
    var state = { start: 0, span: 2, boxes: [] };

    function draw() {
      var width = chartWidth(), height = top + lanes.length * laneHeight + bottom;
      var ratio = window.devicePixelRatio || 1;
      canvas.width = width * ratio; canvas.height = height * ratio;
      canvas.style.width = width + 'px'; canvas.style.height = height + 'px';
      var ctx = canvas.getContext('2d');
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, width, height);
      ctx.font = '11px sans-serif';
      var from = state.start, to = state.start + state.span, plot = width - left - 10;
      function px(seconds) { return left + (seconds - from) / (to - from) * plot; }
      ctx.fillStyle = faultFill;
      data.windows.forEach(function (w) {
        var a = Math.max(px(w[0] * tick), left), b = Math.min(px(w[1] * tick), left + plot);
        if (b > a) {
          ctx.fillRect(a, top - 4, b - a, lanes.length * laneHeight + 4);
          ctx.fillStyle = '#b71c1c'; ctx.fillText(w[2], a + 3, top - 8); ctx.fillStyle = faultFill;
        }
      });
      ctx.fillStyle = '#555';
      lanes.forEach(function (lane, index) {
        ctx.fillText((data.lanes > 0 ? 'worker ' : 'process ') + lane, 4, top + index * laneHeight + 14);
      });
      state.boxes = [];
      for (var i = 0; i < count; i++) {
        var s = ops.s[i] * tick, e = ops.d[i] < 0 ? endSeconds : (ops.s[i] + ops.d[i]) * tick;
        if (e < from || s > to) continue;
        var lane = laneOf[ops.w[i]];
        var x0 = Math.max(px(s), left), x1 = Math.min(px(e), left + plot), y = top + lane * laneHeight + 2;
        var w = Math.max(1.5, x1 - x0);
        ctx.fillStyle = colors[outcomes[ops.o[i]]];
        ctx.fillRect(x0, y, w, laneHeight - 6);
        var label = data.labels[ops.l[i]];
        if (w > ctx.measureText(label).width + 6) {
          ctx.fillStyle = '#fff'; ctx.fillText(label, x0 + 3, y + 12);
        }
        state.boxes.push([x0, y, w, laneHeight - 6, i]);
      }
      ctx.fillStyle = '#333';
      var axisY = top + lanes.length * laneHeight + 14;
      for (var k = 0; k <= 4; k++) {
        var t = from + (to - from) * k / 4;
        ctx.fillText(t.toFixed(2) + ' s', Math.min(px(t), left + plot - 40), axisY);
      }
      document.getElementById('tl-range').textContent =
        from.toFixed(1) + '–' + to.toFixed(1) + ' s of ' + endSeconds.toFixed(1) + ' s';
    }

    function move(pages) {
      state.start = Math.max(0, Math.min(state.start + pages * state.span, Math.max(0, endSeconds - state.span)));
      draw();
    }
    document.getElementById('tl-prev').addEventListener('click', function () { move(-1); });
    document.getElementById('tl-next').addEventListener('click', function () { move(1); });
    document.getElementById('tl-span').addEventListener('change', function (e) {
      state.span = Number(e.target.value); draw();
    });
    canvas.addEventListener('mousemove', function (e) {
      var r = canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
      var hit = state.boxes.find(function (b) { return x >= b[0] && x <= b[0] + b[2] && y >= b[1] && y <= b[1] + b[3]; });
      if (!hit) { tip.style.display = 'none'; return; }
      var i = hit[4], d = ops.d[i];
      tip.textContent = data.labels[ops.l[i]] + ' — process ' + ops.p[i] + ', ' + outcomes[ops.o[i]] + ', invoked at ' +
        (ops.s[i] * tick).toFixed(3) + ' s, ' + (d < 0 ? 'never completed' : 'took ' + (d * tick * 1000).toFixed(2) + ' ms');
      tip.style.display = 'block';
      tip.style.left = (e.pageX + 12) + 'px'; tip.style.top = (e.pageY + 12) + 'px';
    });
    canvas.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
    // Start at the first fault, where the interesting part usually is.
    if (data.windows.length > 0) state.start = Math.max(0, data.windows[0][0] * tick - 0.5);
    draw();
  }

  try {
    latencyChart();
    throughputChart();
    samplingNote();
    timeline();
    document.body.setAttribute('data-charts', 'drawn');
  } catch (e) {
    document.body.setAttribute('data-charts', 'error');
    console.error('faultline report: ' + e);
  }
})();
