/**
 * The page's own script, as text: draws every figure from its Vega-Lite spec with vega-embed
 * (SVG renderer, so tooltips find their marks however the page is scaled), and falls back to
 * the figure's static SVG if drawing fails. `window.residNormsReport` exposes the views and a
 * promise that settles when every figure is drawn, for tests and for the curious.
 */
export const BOOT_SCRIPT = `(function () {
  'use strict';
  var views = {};
  var options = { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } };
  // Narrow screens (phones): plots as wide as the screen, panels stacked, legends below, long
  // titles shortened; text keeps its size, so it stays readable without zooming.
  var NARROW = 700;
  function fitToWidth(spec, width) {
    var copy = JSON.parse(JSON.stringify(spec));
    var plotWidth = Math.max(200, width - 90);
    if (copy.hconcat !== undefined) {
      copy.vconcat = copy.hconcat;
      delete copy.hconcat;
      copy.vconcat.forEach(function (panel) { panel.width = Math.min(panel.width || plotWidth, plotWidth); });
    } else {
      copy.width = plotWidth;
    }
    var config = copy.config || {};
    config.title = Object.assign({}, config.title, { limit: width - 30, subtitleFontSize: 10 });
    config.legend = Object.assign({}, config.legend, { orient: 'bottom', labelLimit: width - 60 });
    copy.config = config;
    return copy;
  }
  // Wide screens: single plots drawn larger (not scaled: text keeps its size, pointer positions stay exact).
  var WIDE = 1100;
  var WIDE_PLOT = 760;
  function widen(spec) {
    if (spec.hconcat !== undefined || spec.vconcat !== undefined || spec.width !== undefined) return spec;
    return Object.assign({}, spec, { width: WIDE_PLOT });
  }
  var elements = Array.prototype.slice.call(document.querySelectorAll('[data-figure]'));
  var drawn = elements.map(function (element) {
    var stem = element.getAttribute('data-figure');
    return Promise.resolve()
      .then(function () {
        var spec = JSON.parse(document.getElementById('spec-' + stem).textContent);
        var width = element.parentNode.clientWidth;
        if (width < NARROW) spec = fitToWidth(spec, width);
        else if (width >= WIDE) spec = widen(spec);
        return vegaEmbed(element, spec, Object.assign({ downloadFileName: stem }, options));
      })
      .then(function (result) {
        views[stem] = result.view;
      })
      .catch(function (error) {
        console.error('resid-norms: ' + stem + ' could not be drawn interactively, showing the static figure: ' + error);
        var fallback = element.parentNode.querySelector('noscript');
        if (fallback !== null) element.innerHTML = fallback.textContent;
      });
  });
  window.residNormsReport = {
    views: views,
    ready: Promise.all(drawn).then(function () {
      document.documentElement.setAttribute('data-figures-drawn', String(Object.keys(views).length));
      return Object.keys(views).length;
    }),
  };
})();
`;
