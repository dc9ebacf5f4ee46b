import assert from 'node:assert/strict'
import { Progress } from '../../src/cli/progress.js'
import { stoppedMessage } from '../../src/cli/cmds/run/handler.js'
import { stoppedProvider } from '../../src/cli/cmds/provider/handler.js'
import type { CreatorEvent } from '../../src/node/index.js'

const offered = { stage: 'offered', at: 0, elapsedMs: 120, jobOfferHash: '0xabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789', message: 'max price 5 wei' } as unknown as CreatorEvent
const running = { stage: 'running', at: 0, elapsedMs: 2500, dealId: '0x1111111111111111111111111111111111111111111111111111111111111111', provider: '0x2222222222222222222222222222222222222222' } as unknown as CreatorEvent

describe('cli: run progress and what a stop says', () => {
  it('piped: plain stage lines, no control codes; --json: the JSON events unchanged', () => {
    let out = ''
    const p = new Progress({ tty: false, json: false, write: (s) => { out += s } })
    p.start(); p.event(offered); p.event(running); p.stop()
    assert.doesNotMatch(out, /[\r\x1b]/)
    assert.deepEqual(out.trim().split('\n').map((l) => l.slice(10, 20).trim()), ['offered', 'running'])
    let json = ''
    const j = new Progress({ tty: true, json: true, write: (s) => { json += s } })
    j.start(); j.event(offered); j.stop()
    assert.deepEqual(JSON.parse(json.trim()), { ...offered })
  })

  it('on a terminal: a status line with a spinner, the elapsed time and what the job waits on, cleared before each stage line', () => {
    let out = ''
    let now = 1000
    const p = new Progress({ tty: true, json: false, write: (s) => { out += s }, now: () => now, intervalMs: 1_000_000, columns: 200 })
    p.start()
    now = 3500
    p.event(running)
    p.stop()
    assert.match(out, /^\r⠙ 0\.0s starting: starting the node and funding the escrow \(Ctrl-C stops following; the deal is kept for lilynode resume\)\x1b\[K\r\x1b\[K\[ {3}2\.50s\] running {4}provider fetched/)
    assert.match(out, /\n\r⠹ 2\.5s running: the job is running on the provider/)
    assert.ok(out.endsWith('\r\x1b[K'), 'the status line is cleared at the end')
    let narrow = ''
    const n = new Progress({ tty: true, json: false, write: (s) => { narrow += s }, columns: 40 })
    n.start(); n.stop()
    assert.ok(narrow.split('\r')[1].replace('\x1b[K', '').length <= 39, 'cut to the terminal width')
  })

  it('Ctrl-C says what it stopped and how to resume', () => {
    assert.match(stoppedMessage('stopped by SIGINT', undefined, 'p.json', '/d'), /before the job was offered: nothing was published or spent/)
    assert.match(stoppedMessage('stopped by SIGINT', offered as never, 'p.json', '/d'), /while the job waited for a provider \(offer 0xabcdef01…\): no deal was made/)
    assert.equal(stoppedMessage('stopped by SIGINT', running as never, 'p.json', '/d'), 'stopped by SIGINT at stage \'running\' (deal 0x11111111… with provider 0x2222222222222222222222222222222222222222): the deal is kept in /d; \'lilynode resume --profile p.json --data-dir /d\' follows it from there to settlement (accepts the result and pays, or takes the timeout refund)')
    assert.match(stoppedProvider('stopped by SIGTERM', new Map(), '/p'), /no deal was in progress/)
    assert.match(stoppedProvider('stopped by SIGTERM', new Map([['0x3333333333333333', 'running']]), '/p'), /with 1 deal in progress: 0x33333333… \(running\); they are kept in \/p and resumed when 'lilynode provider --data-dir \/p' starts again/)
  })
})
