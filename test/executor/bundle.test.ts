import assert from 'node:assert/strict'
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import {
  bundleHash, decodeBundle, encodeBundle, ExecutorError, extractOutputTar, packOutputDir, readTar, writeTar, type TarEntry
} from '../../src/executor/index.js'

describe('executor: output tar and result bundle', () => {
  const dirs: string[] = []
  const tmp = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'lilynode-bundle-'))
    dirs.push(d)
    return d
  }
  after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

  async function fill (root: string, mtime: number): Promise<void> {
    await mkdir(join(root, 'b', 'deep'), { recursive: true })
    await writeFile(join(root, 'z.txt'), 'last')
    await writeFile(join(root, 'a.txt'), 'first')
    await writeFile(join(root, 'b', 'deep', 'x.bin'), new Uint8Array([1, 2, 3]))
    await writeFile(join(root, 'run.sh'), '#!/bin/sh\n')
    await chmod(join(root, 'run.sh'), 0o700)
    await writeFile(join(root, 'n'.repeat(150)), 'long name')
    await symlink('a.txt', join(root, 'link'))
    for (const p of ['z.txt', 'a.txt', 'b/deep/x.bin', 'run.sh']) await utimes(join(root, p), mtime, mtime)
  }

  it('the same folder content gives the same bytes, whatever the times and creation order', async () => {
    const a = await tmp()
    const b = await tmp()
    await fill(a, 1000)
    await fill(b, 2_000_000)
    const ta = await packOutputDir(a, 1 << 20)
    assert.deepEqual(ta, await packOutputDir(b, 1 << 20))
    const entries = readTar(ta)
    assert.deepEqual(entries.map((e) => [e.path, e.type, e.mode.toString(8)]), [
      ['a.txt', 'file', '644'], ['b', 'dir', '755'], ['b/deep', 'dir', '755'], ['b/deep/x.bin', 'file', '644'],
      ['link', 'symlink', '777'], ['n'.repeat(150), 'file', '644'], ['run.sh', 'file', '755'], ['z.txt', 'file', '644']
    ])
    // headers: owner 0, mtime 0
    assert.equal(Buffer.from(ta.subarray(108, 116)).toString(), '0000000\0')
    assert.equal(Buffer.from(ta.subarray(136, 148)).toString(), '00000000000\0')
  })

  it('round-trips through extraction (long names, links, modes)', async () => {
    const src = await tmp()
    await fill(src, 5)
    const tar = await packOutputDir(src, 1 << 20)
    const dest = join(await tmp(), 'out')
    await extractOutputTar(tar, dest)
    assert.equal(await readFile(join(dest, 'n'.repeat(150)), 'utf8'), 'long name')
    assert.equal(await readlink(join(dest, 'link')), 'a.txt')
    assert.equal((await lstat(join(dest, 'run.sh'))).mode & 0o777, 0o755)
    assert.deepEqual(await packOutputDir(dest, 1 << 20), tar)
  })

  it('refuses output over the size cap', async () => {
    const d = await tmp()
    await writeFile(join(d, 'big'), new Uint8Array(2048))
    await assert.rejects(packOutputDir(d, 1024), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_OUTPUT_TOO_LARGE')
  })

  it('never follows a symlink out of the output when packing', async () => {
    const d = await tmp()
    await symlink('/etc/passwd', join(d, 'steal'))
    const [e] = readTar(await packOutputDir(d, 1 << 20))
    assert.equal(e.type, 'symlink')
    assert.equal(e.data.length, 0)
  })

  it('extraction refuses unsafe paths and escaping links', async () => {
    const file = (path: string): TarEntry => ({ path, type: 'file', mode: 0o644, data: new Uint8Array([1]), linkname: '' })
    const link = (path: string, linkname: string): TarEntry => ({ path, type: 'symlink', mode: 0o777, data: new Uint8Array(0), linkname })
    const unsafe: TarEntry[][] = [
      [file('../evil')], [file('/abs')], [file('a/../../evil')], [file('a//b')],
      [link('l', '../outside')], [link('l', '/etc')], [link('d', '.'), link('l', 'd/..')],
      [link('d', 'sub'), file('d/through-link')]
    ]
    for (const entries of unsafe) {
      const dest = await tmp()
      await assert.rejects(extractOutputTar(writeTar(entries), dest), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_UNSAFE_PATH', JSON.stringify(entries.map((x) => [x.path, x.linkname])))
    }
    const ok = await tmp()
    await extractOutputTar(writeTar([{ path: 'sub', type: 'dir', mode: 0o755, data: new Uint8Array(0), linkname: '' }, link('sub/up', '../x')]), ok)
  })

  it('refuses corrupt tars', () => {
    const tar = writeTar([{ path: 'a', type: 'file', mode: 0o644, data: new Uint8Array([1]), linkname: '' }])
    const bad = tar.slice()
    bad[0] ^= 1
    assert.throws(() => readTar(bad), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_BAD_TAR')
    assert.throws(() => readTar(tar.subarray(0, 600)), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_BAD_TAR')
  })

  it('bundle encoding is canonical and strict; the hash covers every part', () => {
    const b = { exitCode: -1, stdout: new Uint8Array([1, 2]), stderr: new Uint8Array(0), outputTar: writeTar([]) }
    const enc = encodeBundle(b)
    assert.deepEqual(decodeBundle(enc), b)
    assert.equal(bundleHash(b), bundleHash(enc))
    for (const change of [{ exitCode: 0 }, { stdout: new Uint8Array([1]) }, { stderr: new Uint8Array([2]) }, { outputTar: new Uint8Array(1536) }]) {
      assert.notEqual(bundleHash({ ...b, ...change }), bundleHash(b))
    }
    assert.throws(() => decodeBundle(enc.subarray(0, enc.length - 1)), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_BAD_BUNDLE')
    assert.throws(() => decodeBundle(new Uint8Array([...enc, 0])), (e: unknown) => e instanceof ExecutorError && e.code === 'EXECUTOR_BAD_BUNDLE')
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      try { decodeBundle(bytes); return true } catch (e) { return e instanceof ExecutorError }
    }))
  })
})
