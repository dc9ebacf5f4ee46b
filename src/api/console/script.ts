/**
 * The web console's script, served at /console/console.js: plain browser JavaScript, no build
 * step. It polls the API's JSON routes (same origin) every 2 s (?poll=ms) and writes every value
 * with textContent or text nodes, never as HTML: offers, peers and job output come from others.
 */
export const CONSOLE_JS = String.raw`// lilynode web console: polls the node's API (same origin) and renders with textContent only.
'use strict'
;(function () {
  var params = new URLSearchParams(location.search)
  var POLL_MS = Math.min(60000, Math.max(500, Number(params.get('poll')) || 2000))
  var MAX_ROWS = 200
  var selectedJob = params.get('job') || null
  var following = null

  function el (tag, attrs, children) {
    var e = document.createElement(tag)
    for (var k in (attrs || {})) {
      if (k === 'class') e.className = attrs[k]
      else if (k === 'title') e.title = String(attrs[k])
      else e.setAttribute(k, String(attrs[k]))
    }
    ;(children || []).forEach(function (c) {
      e.appendChild(typeof c === 'object' && c !== null ? c : document.createTextNode(c === null || c === undefined ? '' : String(c)))
    })
    return e
  }
  function text (id, value) { var e = document.getElementById(id); if (e) e.textContent = value === null || value === undefined ? '' : String(value) }
  function short (h) { h = String(h || ''); return h.length > 14 ? h.slice(0, 10) + '…' + h.slice(-4) : h }
  function cell (v, full) { return el('td', full !== undefined ? { title: full } : {}, [v]) }
  function time (ms) { return typeof ms === 'number' ? new Date(ms).toLocaleTimeString() : '' }
  function eth (wei) {
    if (wei === null || wei === undefined) return '—'
    var w = BigInt(wei), neg = w < 0n, a = neg ? -w : w
    var whole = a / 1000000000000000000n, frac = (a % 1000000000000000000n).toString().padStart(18, '0').replace(/0+$/, '')
    return (neg ? '-' : '') + whole.toString() + (frac ? '.' + frac : '') + ' ETH'
  }

  async function getJson (path) {
    var r = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' })
    var body = await r.json().catch(function () { return null })
    if (!r.ok && !(path === '/health' && r.status === 503 && body)) throw new Error((body && body.error && body.error.message) || ('HTTP ' + r.status))
    return body
  }

  /** Fills one section's table from rows (arrays of cells), or says why it could not. */
  function fill (id, load, rowsOf, empty) {
    var sec = document.getElementById(id)
    return load().then(function (data) {
      var rows = rowsOf(data).slice(0, MAX_ROWS)
      var body = sec.querySelector('tbody')
      body.replaceChildren.apply(body, rows)
      sec.querySelector('.status').textContent = rows.length === 0 ? empty : (rows.length + ' shown')
      sec.dataset.state = rows.length === 0 ? 'empty' : 'ok'
    }, function (e) {
      sec.querySelector('.status').textContent = 'could not load: ' + e.message
      sec.dataset.state = 'error'
    })
  }

  function resources (o) {
    var parts = [o.cpu + ' mcpu', o.ram + ' MiB']
    if (o.gpus > 0) parts.push(o.gpus + ' GPU' + (o.gpuModel ? ' ' + o.gpuModel : '') + (o.gpuVram ? ' ' + o.gpuVram + ' MiB' : ''))
    if (o.disk > 0) parts.push(o.disk + ' MiB disk')
    return parts.join(', ')
  }
  function priceList (p) {
    return el('ul', { class: 'prices' }, Object.keys(p || {}).map(function (k) { return el('li', {}, [k + ': ' + p[k]]) }))
  }

  function health () {
    return getJson('/health').then(function (h) {
      text('node-address', h.address)
      text('node-network', h.network + ' (chain ' + h.chain.chainId + ')')
      text('node-epoch', 'current ' + h.currentEpoch + ', head ' + (h.headEpoch === null ? '—' : h.headEpoch) + (h.participating ? '' : ' (not participating yet)'))
      text('node-chain', h.chain.reachable ? 'block ' + h.chain.headBlock : 'unreachable: ' + h.chain.error)
      text('node-health', h.ok ? 'ok, ' + h.peers + ' peers' : 'unhealthy, ' + h.peers + ' peers')
      document.getElementById('node-health').className = h.ok ? 'ok' : 'bad'
    }, function (e) { text('node-health', 'no answer: ' + e.message) })
  }

  function balances () {
    var sec = document.getElementById('balances')
    return getJson('/balances').then(function (b) {
      var amount = function (a) { return eth(a.wei) + ' in ' + a.deals + ' deal' + (a.deals === 1 ? '' : 's') }
      var rows = [
        ['wallet', eth(b.wallet)], ['escrow (free)', eth(b.escrow)],
        ['earned as provider (settled deals)', amount(b.earned)], ['spent as creator (settled deals)', amount(b.spent)],
        ['under challenge', amount(b.disputed)], ['gas of this node\'s transactions', b.gas.gas + ' gas in ' + b.gas.txs + ' transactions']
      ].map(function (r) { return el('tr', { 'data-key': r[0] }, [el('th', {}, [r[0]]), cell(r[1])]) })
      if (b.errors.length > 0) rows.push(el('tr', {}, [el('th', {}, ['errors']), cell(b.errors.join('; '))]))
      var body = sec.querySelector('tbody')
      body.replaceChildren.apply(body, rows)
      sec.querySelector('.status').textContent = 'account ' + b.address
      sec.dataset.state = 'ok'
    }, function (e) { sec.querySelector('.status').textContent = 'could not load: ' + e.message; sec.dataset.state = 'error' })
  }

  function jobRow (j) {
    var tr = el('tr', { 'data-id': j.id, 'data-state': j.state }, [
      cell(j.id), cell(j.module), cell(j.state), cell(j.stage === null ? '' : j.stage), cell(j.source || ''), cell(time(j.createdAt))
    ])
    if (j.id === selectedJob) tr.className = 'selected'
    tr.addEventListener('click', function () { selectedJob = j.id; params.set('job', j.id); history.replaceState(null, '', '?' + params.toString()); showJob() })
    return tr
  }

  function renderJob (j) {
    var sec = document.getElementById('job')
    sec.hidden = false
    sec.dataset.state = j.state
    text('job-id', j.id)
    var r = j.result
    text('job-summary', j.module + ' — ' + j.state + (j.stage ? ' (stage ' + j.stage + ')' : '') +
      (r ? ', provider ' + r.provider + ', price ' + eth(r.price) + ', exit code ' + (r.exitCode === null ? '—' : r.exitCode) : '') +
      (j.error ? ' — ' + j.error.code + ': ' + j.error.message : ''))
    var ol = document.getElementById('job-stages')
    ol.replaceChildren.apply(ol, (j.events || []).slice(-MAX_ROWS).map(function (ev) {
      var extra = ev.message || ev.reason || ev.provider || ev.dealId || ''
      return el('li', { class: 'stage', 'data-stage': ev.stage }, [ev.stage + ' +' + (ev.elapsedMs / 1000).toFixed(1) + ' s' + (extra ? ' — ' + extra : '')])
    }))
    var lv = liveLogs !== null && liveLogs.id === j.id ? liveLogs : null
    text('job-stdout', r && r.stdout !== null ? r.stdout : (lv && lv.out ? lv.out : (j.state === 'running' ? '(running…)' : '(none)')))
    text('job-stderr', r && r.stderr ? r.stderr : (lv && lv.err ? lv.err : (j.state === 'running' ? '(running…)' : '(none)')))
  }

  /** The provider's stdout and stderr while the job runs (GET /jobs/{id}/logs?follow=1, NDJSON), the last 64 KiB of each. */
  var liveLogs = null
  function followLogs (job, onChunk) {
    if (liveLogs !== null && liveLogs.id === job.id) return
    if (liveLogs !== null && liveLogs.stop) liveLogs.stop.abort()
    var stop = typeof AbortController === 'function' ? new AbortController() : null
    var mine = { id: job.id, out: '', err: '', stop: stop }
    liveLogs = mine
    fetch('/jobs/' + encodeURIComponent(job.id) + '/logs?follow=1', stop ? { signal: stop.signal } : {}).then(function (res) {
      // no deal yet (409) or no logs: let a later progress event try again
      if (!res.ok || !res.body) { if (liveLogs === mine) liveLogs = null; return }
      var reader = res.body.getReader()
      var dec = new TextDecoder()
      var buf = ''
      function pump () {
        return reader.read().then(function (x) {
          if (x.done) return
          buf += dec.decode(x.value, { stream: true })
          var i
          while ((i = buf.indexOf('\n')) >= 0) {
            var line = buf.slice(0, i)
            buf = buf.slice(i + 1)
            var m
            try { m = JSON.parse(line) } catch (e) { continue }
            if (m.stream === 'stdout') mine.out = (mine.out + m.text).slice(-65536)
            else if (m.stream === 'stderr') mine.err = (mine.err + m.text).slice(-65536)
          }
          if (liveLogs === mine) onChunk()
          return pump()
        })
      }
      return pump()
    }).catch(function () { if (liveLogs === mine) liveLogs = null })
  }

  /** The selected job: its record, then (API jobs still running) its live progress as server-sent events. */
  function showJob () {
    if (selectedJob === null) return Promise.resolve()
    document.querySelectorAll('#jobs tbody tr').forEach(function (tr) { tr.className = tr.dataset.id === selectedJob ? 'selected' : '' })
    var id = selectedJob
    return getJson('/jobs/' + encodeURIComponent(id)).then(function (j) {
      if (id !== selectedJob) return
      renderJob(j)
      if (j.state === 'running' && j.source === 'api' && (following === null || following.id !== id) && typeof EventSource === 'function') follow(j)
    }, function (e) { text('job-summary', 'could not load ' + id + ': ' + e.message) })
  }

  function follow (job) {
    if (following !== null) following.es.close()
    var es = new EventSource('/jobs/' + encodeURIComponent(job.id))
    var live = Object.assign({}, job, { events: [] })
    following = { id: job.id, es: es }
    es.addEventListener('progress', function (m) {
      if (selectedJob !== job.id) return
      var ev = JSON.parse(m.data)
      live.events.push(ev)
      live.stage = ev.stage
      renderJob(live)
      // once the deal is open the provider has logs to stream
      if (ev.stage === 'opened' || ev.stage === 'running') followLogs(job, function () { if (selectedJob === job.id && following !== null && following.id === job.id) renderJob(live) })
    })
    es.addEventListener('end', function (m) {
      es.close()
      following = null
      if (selectedJob === job.id) renderJob(JSON.parse(m.data))
    })
    es.onerror = function () { es.close(); if (following && following.es === es) following = null }
  }

  function refresh () {
    return Promise.all([
      health(),
      balances(),
      fill('peers', function () { return getJson('/peers') }, function (d) {
        return d.items.map(function (p) { return el('tr', { 'data-peer': p.peerId }, [cell(short(p.peerId), p.peerId), cell(p.address || '—'), cell((p.addrs || []).join(' ')), cell(p.score === null ? '—' : Number(p.score).toFixed(2)), cell(p.rejects)]) })
      }, 'no peers connected'),
      fill('epochs', function () { return getJson('/epochs') }, function (d) {
        return d.items.map(function (e) {
          var m = e.majority
          return el('tr', { 'data-epoch': e.epoch }, [cell(e.epoch), cell(short(e.root), e.root), cell(m === null ? 'no heartbeats' : short(m.root) + ' (' + m.count + ' of ' + m.total + ')', m === null ? undefined : m.root), el('td', { class: e.agrees === false ? 'bad' : 'ok' }, [e.agrees === null ? '—' : e.agrees ? 'yes' : 'NO'])])
        })
      }, 'no epoch matched yet'),
      fill('offers', function () { return getJson('/offers?limit=200') }, function (d) {
        return d.items.map(function (o) {
          return el('tr', { 'data-id': o.id, 'data-kind': o.kind }, [cell(o.kind), cell(short(o.signer), o.signer), cell(o.epoch + '–' + o.expiryEpoch), cell(resources(o.offer)), el('td', {}, [priceList(o.prices)])])
        })
      }, 'no offers in the pool'),
      fill('jobs', function () { return getJson('/jobs?limit=100') }, function (d) { return d.items.map(jobRow) }, 'no jobs yet'),
      fill('deals', function () { return getJson('/deals?limit=100') }, function (d) {
        return d.items.map(function (r) {
          return el('tr', { 'data-id': r.dealId, 'data-state': r.state }, [cell(short(r.dealId), r.dealId), cell(r.role), cell(r.state + (r.error ? ' (' + r.error + ')' : '')), cell(eth(r.deal.price)), cell(short(r.deal.provider), r.deal.provider), cell(short(r.deal.creator), r.deal.creator), cell(time(r.updatedAt))])
        })
      }, 'no deals yet'),
      fill('mediation', function () { return getJson('/mediation') }, function (d) {
        return d.items.map(function (q) {
          return el('tr', { 'data-id': q.dealId }, [cell(short(q.dealId), q.dealId), cell(q.role), cell(q.state), cell(eth(q.price)), cell(q.mediator ? short(q.mediator) : 'not drawn yet', q.mediator || undefined), cell(q.round === null ? '—' : q.round), cell(q.deadline ? new Date(q.deadline * 1000).toLocaleTimeString() : '—')])
        })
      }, 'no deal under challenge'),
      showJob()
    ]).then(function () { text('updated', 'updated ' + new Date().toLocaleTimeString() + ' (every ' + POLL_MS / 1000 + ' s)') })
  }

  function loop () { refresh().finally(function () { setTimeout(loop, POLL_MS) }) }
  loop()
})()
`
