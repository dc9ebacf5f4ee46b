/** The lean re-execution of long-running role processes (src/node/leanProcess.ts, bin/lilynode.js). */
import assert from 'node:assert/strict'
import { LEAN_MARK, LEAN_NODE_FLAGS, leanExec, useCompileCache } from '../../src/node/leanProcess.js'

describe('node: lean role processes', () => {
  it('re-executes long-running roles once, with the lean V8 flags and MALLOC_ARENA_MAX', () => {
    const argv = ['/usr/bin/node', '/x/bin/lilynode.js', 'provider', '--json']
    const r = leanExec(argv, ['--enable-source-maps'], { PATH: '/bin' })
    assert.ok(r !== undefined)
    assert.deepEqual(r.args, ['/usr/bin/node', ...LEAN_NODE_FLAGS, '--enable-source-maps', '/x/bin/lilynode.js', 'provider', '--json'])
    assert.equal(r.env.MALLOC_ARENA_MAX, '2')
    assert.equal(r.env.MALLOC_MMAP_THRESHOLD_, '131072')
    assert.equal(r.env.MALLOC_TRIM_THRESHOLD_, '131072')
    assert.equal(r.env[LEAN_MARK], '1')
    assert.equal(r.env.PATH, '/bin')
    assert.equal(leanExec(argv, [], { [LEAN_MARK]: '1' }), undefined, 'never twice')
    assert.equal(leanExec(argv, [], { LILYNODE_LEAN: '0' }), undefined, 'can be turned off')
    assert.equal(leanExec(argv, ['--max-semi-space-size=8'], {}), undefined, 'flags given by hand win')
    assert.equal(leanExec(argv, [], { MALLOC_ARENA_MAX: '4' })?.env.MALLOC_ARENA_MAX, '4')
    assert.equal(leanExec(['/usr/bin/node', '/x/bin/lilynode.js', 'run', 'cowsay'], [], {}), undefined, 'short-lived commands run as they are')
    assert.equal(useCompileCache(['n', 'b', 'run']), true)
    assert.equal(useCompileCache(['n', 'b', 'bootstrap']), false)
  })
})
