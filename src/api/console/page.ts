/**
 * The web console's page and style sheet, served by the API at /console (when started with
 * `console: true`, `lilynode creator --api … --api-console`). Static text: every value the page
 * shows is fetched by console.js from the API's JSON routes and written with textContent.
 */

/** Content-Security-Policy of the console: its own script, style and API only; no inline code, no frames. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const section = (id: string, title: string, head: string[], note = ''): string => `
  <section id="${id}" data-state="loading">
    <h2>${title}</h2>${note !== '' ? `\n    <p class="note">${note}</p>` : ''}
    <p class="status">loading…</p>
    <table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody></tbody></table>
  </section>`

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>lilynode console</title>
  <link rel="stylesheet" href="/console/console.css">
  <link rel="icon" href="/console/icon.svg" type="image/svg+xml">
  <script src="/console/console.js" defer></script>
</head>
<body>
  <header>
    <h1>lilynode console</h1>
    <dl id="node">
      <dt>node</dt><dd id="node-address">…</dd>
      <dt>network</dt><dd id="node-network">…</dd>
      <dt>epoch</dt><dd id="node-epoch">…</dd>
      <dt>chain</dt><dd id="node-chain">…</dd>
      <dt>health</dt><dd id="node-health">…</dd>
    </dl>
    <p id="updated" class="note">not yet updated</p>
  </header>
  <main>
  <section id="balances" data-state="loading">
    <h2>Balances and earnings</h2>
    <p class="status">loading…</p>
    <table><tbody></tbody></table>
  </section>
  <div class="grid">${section('peers', 'Peers', ['peer ID', 'account', 'connection', 'score', 'rejects'])}${section('epochs', 'Epochs and their roots', ['epoch', 'our root', 'peers\' majority', 'agrees'])}</div>
  ${section('offers', 'Offers', ['kind', 'signer', 'epochs', 'resources', 'prices'], 'resource offers: per unit and per hour in ETH, and what an example job asks; job offers: the most they pay')}
  ${section('jobs', 'Jobs', ['job', 'module', 'state', 'stage', 'source', 'started'], 'click a job for its stages and output')}
  <section id="job" data-state="none" hidden>
    <h2>Job <span id="job-id"></span></h2>
    <p id="job-summary"></p>
    <ol id="job-stages"></ol>
    <h3>stdout</h3><pre id="job-stdout"></pre>
    <h3>stderr</h3><pre id="job-stderr"></pre>
  </section>
  ${section('deals', 'Deals', ['deal', 'role', 'state', 'price', 'provider', 'creator', 'updated'])}
  ${section('mediation', 'Mediation queue', ['deal', 'role', 'state', 'price', 'mediator', 'round', 'deadline'], 'this node\'s deals under challenge, oldest first')}
  </main>
</body>
</html>
`

/** The page's icon (browsers ask for one; without it they log a 404 for /favicon.ico). */
export const CONSOLE_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6" fill="#2a7"/></svg>'

export const CONSOLE_CSS = `
:root { color-scheme: light dark; --line: #8884; --muted: #888; --ok: #2a7; --bad: #c33; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 2rem; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin: 1.2rem 0 .3rem; } h3 { font-size: .9rem; margin: .6rem 0 .2rem; }
dl { display: flex; flex-wrap: wrap; gap: 0 .4rem; margin: 0; } dt { color: var(--muted); } dd { margin: 0 1rem 0 0; font-family: ui-monospace, monospace; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(28rem, 1fr)); gap: 0 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td { font-family: ui-monospace, monospace; font-size: 12px; overflow-wrap: anywhere; }
#jobs tbody tr { cursor: pointer; } #jobs tbody tr.selected { background: #8882; }
.note, .status { color: var(--muted); margin: 0 0 .3rem; }
section[data-state="error"] .status { color: var(--bad); }
.ok { color: var(--ok); } .bad { color: var(--bad); }
pre { background: #8881; padding: .5rem; max-height: 16rem; overflow: auto; white-space: pre-wrap; margin: 0; }
ol { margin: .3rem 0; padding-left: 1.5rem; font-family: ui-monospace, monospace; font-size: 12px; }
`
