// Offline Mermaid for the book: hands the vendored UMD build (mermaid 11.4.1, MIT licence, from the
// npm package; mermaid.min.js next to this file) to sphinxcontrib-mermaid as an ES module default export.
//
// Jupyter Book 1.x adds every *.js file under _static to every page as a classic <script>, so
// mermaid.min.js normally ran already (classic scripts run before this deferred module). Reuse that
// copy: loading the file a second time would create a second Mermaid instance, and the first one,
// which nobody told startOnLoad=false, would draw every diagram on 'load' as well. The plugin then
// sees the finished SVG as diagram text, and the result is "Syntax error".
const mermaid = window.mermaid ?? await new Promise((resolve, reject) => {
  // Fallback for pages where the UMD build was not added as a script (e.g. another static-file setup).
  const script = document.createElement("script");
  script.src = new URL("./mermaid.min.js", import.meta.url).href;
  script.onload = () => resolve(window.mermaid);
  script.onerror = () => reject(new Error("could not load the vendored mermaid.min.js"));
  document.head.appendChild(script);
});
if (!mermaid) throw new Error("the vendored mermaid.min.js did not define window.mermaid");

// Turn off the UMD build's own auto-start (its 'load' handler checks both the flag and the config),
// so that only sphinxcontrib-mermaid renders, once, and re-renders on a theme change.
mermaid.startOnLoad = false;
mermaid.initialize({ startOnLoad: false });

export default mermaid;
