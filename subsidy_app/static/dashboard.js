/* Draw each dashboard panel's chart from the figures the page embeds: the same numbers as the table below it. */
(function () {
  var data = JSON.parse(document.getElementById('chart-data').textContent || '{}');
  var palette = ['#b71c1c', '#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f'];
  Object.keys(data).forEach(function (key) {
    var box = document.getElementById('chart-' + key);
    if (!box || !window.echarts) { return; }
    var spec = data[key];
    var chart = window.echarts.init(box, null, { renderer: 'svg' });
    chart.setOption({
      color: palette,
      animation: false,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: spec.x, axisLabel: { interval: 'auto', hideOverlap: true } },
      yAxis: spec.unit ? { type: 'value', name: spec.unit } : { type: 'value' },
      series: spec.series.map(function (s) {
        var kind = s.line ? 'line' : spec.kind;
        return { name: s.name, type: kind, data: s.values, stack: spec.stack && !s.line ? 'total' : undefined,
                 smooth: false, showSymbol: spec.x.length <= 31, barMaxWidth: 48 };
      })
    });
    box.dataset.drawn = String(spec.series.length);
    // Follow the box, not only the window: a scrollbar appearing as the page fills narrows the box too.
    if (window.ResizeObserver) {
      new window.ResizeObserver(function () { chart.resize(); }).observe(box);
    } else {
      window.addEventListener('resize', function () { chart.resize(); });
    }
  });
}());
