// fa_lab book: let the stored widget views render with no network (loaded on every page, before RequireJS).
// 1. RequireJS config (RequireJS reads a global `require` object defined before it loads): the ipywidgets
//    html-manager (_static/widgets/embed-amd.js) finds its fonts next to the URLs of its AMD modules, which by default
//    resolve against the page (book/@jupyter-widgets/...: 404). Map those modules onto _static/widgets/.
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (!here || typeof window.require !== "undefined") return;
  var widgets = new URL("widgets", here).href;  // _static/widgets, no trailing slash
  window.require = {
    paths: {
      "@jupyter-widgets/html-manager/dist": widgets,
      "@jupyter-widgets": widgets,
    },
  };
})();
// 2. ipywidgets 8 typesets widget labels with MathJax 2's API (MathJax.Hub.Queue); the book loads MathJax 3, whose
//    object has no Hub (TypeError in every widget). Translate the call to MathJax 3 once MathJax has loaded.
document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub || typeof mj.typesetPromise !== "function") return;
  mj.Hub = {
    Queue: function (cmd) {
      var el = Array.isArray(cmd) ? cmd[2] : undefined;
      (mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve())
        .then(function () { return mj.typesetPromise(el ? [el] : undefined); })
        .catch(function (err) { console.warn("MathJax typeset of a widget label failed", err); });
    },
  };
});
