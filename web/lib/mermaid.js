// Mermaid, loaded on first use (it is large): renders the money-flow text the insights API returns.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';

let ready;
let seq = 0;
function load() {
  ready ??= import('mermaid').then(({ default: mermaid }) => {
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral', fontFamily: 'inherit', flowchart: { useMaxWidth: true } });
    return mermaid;
  });
  return ready;
}

export function MermaidDiagram({ text, label, testid }) {
  const box = useRef(null);
  const [state, setState] = useState({ error: null, done: false });
  useEffect(() => {
    let live = true;
    setState({ error: null, done: false });
    load()
      .then((mermaid) => mermaid.render(`mermaid-${++seq}`, text))
      .then(({ svg }) => { if (live && box.current) { box.current.innerHTML = svg; setState({ error: null, done: true }); } })
      .catch((error) => live && setState({ error, done: true }));
    return () => { live = false; };
  }, [text]);
  return html`<div class="mermaid-wrap">
    ${!state.done ? html`<div class="loading" role="status"><span class="spinner" aria-hidden="true"></span>Drawing the diagram…</div>` : null}
    ${state.error ? html`<div class="notice error" role="alert">The diagram could not be drawn: ${String(state.error.message ?? state.error)}</div>` : null}
    <div class="mermaid" ref=${box} role="img" aria-label=${label} data-testid=${testid} data-rendered=${state.done && !state.error ? 'true' : 'false'}></div>
  </div>`;
}
