// Offline Mermaid for the book: loads the vendored UMD build (mermaid 11.4.1, MIT licence, from the
// npm package) next to this file and hands it to sphinxcontrib-mermaid as an ES module default export.
await new Promise((resolve, reject) => {
  const script = document.createElement("script");
  script.src = new URL("./mermaid.min.js", import.meta.url).href;
  script.onload = resolve;
  script.onerror = () => reject(new Error("could not load the vendored mermaid.min.js"));
  document.head.appendChild(script);
});
export default window.mermaid;
