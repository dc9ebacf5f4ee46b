/**
 * Deterministic tar (ustar + pax for long names) of an output folder, and a strict reader.
 *
 * The writer walks the folder with lstat (never following links, so a job cannot make the
 * provider read files outside its output), sorts entries by name, and writes every header
 * with uid/gid 0, empty owner names, mtime 0 and fixed modes (0755 for folders and
 * executables, 0644 for other files, 0777 for symlinks). FIFOs, sockets and devices are
 * left out. The same folder content therefore always gives the same bytes.
 */
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises'
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path'
import { ExecutorError } from './errors.js'

export const MAX_TAR_ENTRIES = 100_000
const BLOCK = 512

export type TarEntryType = 'file' | 'dir' | 'symlink'

export interface TarEntry {
  /** Relative POSIX path; folders end without a slash here. */
  path: string
  type: TarEntryType
  /** 0o755 or 0o644 for files, 0o755 for folders, 0o777 for links. */
  mode: number
  /** File content (empty for folders and links). */
  data: Uint8Array
  /** Link target, for symlinks. */
  linkname: string
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })

// ---------------------------------------------------------------- walking

/**
 * The entries of a folder, sorted, with fixed modes. Throws EXECUTOR_OUTPUT_TOO_LARGE when
 * the files hold more than `maxBytes` or there are more than MAX_TAR_ENTRIES entries.
 */
export async function walkOutputDir (root: string, maxBytes: number): Promise<TarEntry[]> {
  const out: TarEntry[] = []
  let total = 0
  const visit = async (dir: string, rel: string): Promise<void> => {
    const names = (await withAccess(dir, 0o700, async () => await readdir(dir))).sort(byBytes)
    for (const name of names) {
      if (out.length >= MAX_TAR_ENTRIES) throw new ExecutorError('EXECUTOR_OUTPUT_TOO_LARGE', `output has more than ${MAX_TAR_ENTRIES} entries`)
      const abs = join(dir, name)
      const path = rel === '' ? name : `${rel}/${name}`
      const st = await lstat(abs)
      if (st.isDirectory()) {
        out.push({ path, type: 'dir', mode: 0o755, data: new Uint8Array(0), linkname: '' })
        await visit(abs, path)
      } else if (st.isFile()) {
        total += st.size
        if (total > maxBytes) throw new ExecutorError('EXECUTOR_OUTPUT_TOO_LARGE', `output is larger than ${maxBytes} bytes`)
        const data = await withAccess(abs, 0o600, async () => await readFile(abs))
        out.push({ path, type: 'file', mode: (st.mode & 0o100) !== 0 ? 0o755 : 0o644, data, linkname: '' })
      } else if (st.isSymbolicLink()) {
        out.push({ path, type: 'symlink', mode: 0o777, data: new Uint8Array(0), linkname: await readlink(abs) })
      }
    }
  }
  await visit(root, '')
  return out
}

/** Bytes used by regular files under a folder (lstat, no links followed); stops past `stopAbove`. */
export async function folderBytes (root: string, stopAbove = Infinity): Promise<number> {
  let total = 0
  let entries = 0
  const stack = [root]
  while (stack.length > 0) {
    const dir = stack.pop() as string
    let names: string[]
    try { names = await readdir(dir) } catch { continue }
    for (const name of names) {
      if (++entries > MAX_TAR_ENTRIES) return Infinity
      const abs = join(dir, name)
      try {
        const st = await lstat(abs)
        if (st.isDirectory()) stack.push(abs)
        else if (st.isFile()) total += st.size
      } catch { /* vanished meanwhile */ }
      if (total > stopAbove) return total
    }
  }
  return total
}

/**
 * Runs `fn`; on EACCES (a job running as our uid made something unreadable, e.g. mode 000)
 * gives the owner access and retries once. Modes do not reach the tar (they are fixed there)
 * except the owner's exec bit, which this leaves as it was for files that had it.
 */
async function withAccess<T> (path: string, mode: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e
    await chmod(path, mode)
    return await fn()
  }
}

function byBytes (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

// ---------------------------------------------------------------- writing

function octal (buf: Uint8Array, off: number, len: number, value: number): void {
  const s = value.toString(8).padStart(len - 1, '0')
  if (s.length > len - 1) throw new ExecutorError('EXECUTOR_OUTPUT_TOO_LARGE', `tar field overflow (${value})`)
  buf.set(enc.encode(s), off)
}

function header (name: string, type: string, mode: number, size: number, linkname: string): Uint8Array {
  const h = new Uint8Array(BLOCK)
  h.set(enc.encode(name), 0)
  octal(h, 100, 8, mode)
  octal(h, 108, 8, 0)
  octal(h, 116, 8, 0)
  octal(h, 124, 12, size)
  octal(h, 136, 12, 0)
  h.fill(0x20, 148, 156)
  h[156] = type.charCodeAt(0)
  h.set(enc.encode(linkname), 157)
  h.set(enc.encode('ustar\u000000'), 257)
  let sum = 0
  for (const b of h) sum += b
  const cs = sum.toString(8).padStart(6, '0')
  h.set(enc.encode(cs), 148)
  h[154] = 0
  h[155] = 0x20
  return h
}

function paxRecord (key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let len = body.length + 1
  while (String(len).length + enc.encode(body).length !== len) len = String(len).length + enc.encode(body).length
  return `${len}${body}`
}

function padded (data: Uint8Array): Uint8Array[] {
  const rem = data.length % BLOCK
  return rem === 0 ? [data] : [data, new Uint8Array(BLOCK - rem)]
}

/** Encodes entries (in the given order) as a tar archive; long names use a pax header. */
export function writeTar (entries: TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const e of entries) {
    const name = e.type === 'dir' ? `${e.path}/` : e.path
    let records = ''
    if (enc.encode(name).length > 99) records += paxRecord('path', name)
    if (enc.encode(e.linkname).length > 99) records += paxRecord('linkpath', e.linkname)
    if (records !== '') {
      const body = enc.encode(records)
      parts.push(header('PaxHeader', 'x', 0o644, body.length, ''), ...padded(body))
    }
    const shortName = enc.encode(name).length > 99 ? 'longname' : name
    const shortLink = enc.encode(e.linkname).length > 99 ? 'longlink' : e.linkname
    const type = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2'
    parts.push(header(shortName, type, e.mode, e.type === 'file' ? e.data.length : 0, shortLink))
    if (e.type === 'file' && e.data.length > 0) parts.push(...padded(e.data))
  }
  parts.push(new Uint8Array(BLOCK * 2))
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

/** Deterministic tar of an output folder (see the file comment). */
export async function packOutputDir (root: string, maxBytes: number): Promise<Uint8Array> {
  return writeTar(await walkOutputDir(root, maxBytes))
}

// ---------------------------------------------------------------- reading

function readOctal (h: Uint8Array, off: number, len: number): number {
  const s = dec.decode(h.subarray(off, off + len)).replace(/[\0 ]+$/, '').replace(/^ +/, '')
  if (s === '') return 0
  if (!/^[0-7]+$/.test(s)) throw new ExecutorError('EXECUTOR_BAD_TAR', `bad octal field "${s}"`)
  return parseInt(s, 8)
}

function readString (h: Uint8Array, off: number, len: number): string {
  const end = h.subarray(off, off + len).indexOf(0)
  return dec.decode(h.subarray(off, end < 0 ? off + len : off + end))
}

/** Parses a tar archive (ustar + pax path/linkpath) into entries; refuses anything else. */
export function readTar (tar: Uint8Array, maxEntries = MAX_TAR_ENTRIES): TarEntry[] {
  const out: TarEntry[] = []
  let off = 0
  let pax: Record<string, string> = {}
  while (true) {
    if (off + BLOCK > tar.length) throw new ExecutorError('EXECUTOR_BAD_TAR', 'tar ends without its end-of-archive blocks')
    const h = tar.subarray(off, off + BLOCK)
    if (h.every((b) => b === 0)) break
    let sum = 0
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]
    if (sum !== readOctal(h, 148, 8)) throw new ExecutorError('EXECUTOR_BAD_TAR', `bad header checksum at ${off}`)
    const size = readOctal(h, 124, 12)
    const type = String.fromCharCode(h[156])
    off += BLOCK
    if (off + size > tar.length) throw new ExecutorError('EXECUTOR_BAD_TAR', 'tar entry runs past the end')
    const data = tar.subarray(off, off + size)
    off += Math.ceil(size / BLOCK) * BLOCK
    if (type === 'x') {
      pax = parsePax(data)
      continue
    }
    const prefix = readString(h, 345, 155)
    let path = pax.path ?? (prefix !== '' ? `${prefix}/${readString(h, 0, 100)}` : readString(h, 0, 100))
    const linkname = pax.linkpath ?? readString(h, 157, 100)
    pax = {}
    if (path.endsWith('/')) path = path.slice(0, -1)
    const mode = readOctal(h, 100, 8) & 0o7777
    if (type === '0' || type === '\0') out.push({ path, type: 'file', mode, data: data.slice(), linkname: '' })
    else if (type === '5') out.push({ path, type: 'dir', mode, data: new Uint8Array(0), linkname: '' })
    else if (type === '2') out.push({ path, type: 'symlink', mode, data: new Uint8Array(0), linkname })
    else throw new ExecutorError('EXECUTOR_BAD_TAR', `unsupported tar entry type "${type}" for ${path}`)
    if (out.length > maxEntries) throw new ExecutorError('EXECUTOR_BAD_TAR', `more than ${maxEntries} entries`)
  }
  return out
}

function parsePax (data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {}
  const fail = (): never => { throw new ExecutorError('EXECUTOR_BAD_TAR', 'bad pax record') }
  let i = 0
  while (i < data.length) {
    const sp = data.indexOf(0x20, i)
    if (sp < 0) fail()
    const len = Number(dec.decode(data.subarray(i, sp)))
    if (!Number.isSafeInteger(len) || len <= sp - i + 1 || i + len > data.length) fail()
    const rec = dec.decode(data.subarray(sp + 1, i + len))
    const eq = rec.indexOf('=')
    if (eq < 0 || !rec.endsWith('\n')) fail()
    out[rec.slice(0, eq)] = rec.slice(eq + 1, -1)
    i += len
  }
  return out
}

// ---------------------------------------------------------------- extracting

function safeRelative (path: string): string {
  if (path === '' || path.includes('\0') || path.includes('\\') || posix.isAbsolute(path) || isAbsolute(path)) {
    throw new ExecutorError('EXECUTOR_UNSAFE_PATH', `unsafe path in output: "${path.slice(0, 100)}"`)
  }
  const parts = path.split('/')
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new ExecutorError('EXECUTOR_UNSAFE_PATH', `unsafe path in output: "${path.slice(0, 100)}" (empty, . or .. component)`)
  }
  return parts.join(sep)
}

/**
 * Extracts an output tar into `dest` (created if needed). Refuses absolute paths, `..`
 * components, symlinks that point outside `dest`, entries written through a symlink, and
 * anything but files, folders and links. Modes are clamped to 0755/0644.
 */
export async function extractOutputTar (tar: Uint8Array, dest: string): Promise<string[]> {
  const entries = readTar(tar)
  const root = resolve(dest)
  await mkdir(root, { recursive: true })
  const links = new Set<string>()
  const written: string[] = []
  for (const e of entries) {
    const rel = safeRelative(e.path)
    const abs = join(root, rel)
    const parts = rel.split(sep)
    for (let i = 1; i < parts.length; i++) {
      if (links.has(parts.slice(0, i).join(sep))) throw new ExecutorError('EXECUTOR_UNSAFE_PATH', `entry ${e.path} lies under a symlink`)
    }
    if (e.type === 'dir') {
      await mkdir(abs, { recursive: true, mode: 0o755 })
    } else if (e.type === 'file') {
      await mkdir(join(abs, '..'), { recursive: true })
      await writeFile(abs, e.data, { mode: (e.mode & 0o100) !== 0 ? 0o755 : 0o644, flag: 'wx' })
    } else {
      const fromRoot = relative(root, resolve(join(abs, '..'), e.linkname))
      const outside = fromRoot === '..' || fromRoot.startsWith('..' + sep) || isAbsolute(fromRoot)
      // `..` only as leading components: then the lexical check above is what the kernel does
      // (a later `..` could climb out of a symlinked folder that looks harmless lexically).
      const comps = e.linkname.split('/')
      const firstDown = comps.findIndex((c) => c !== '..')
      const climbsLater = firstDown >= 0 && comps.slice(firstDown).includes('..')
      if (isAbsolute(e.linkname) || outside || climbsLater || e.linkname === '' || e.linkname.includes('\0')) {
        throw new ExecutorError('EXECUTOR_UNSAFE_PATH', `symlink ${e.path} → ${e.linkname.slice(0, 100)} points outside the output`)
      }
      await mkdir(join(abs, '..'), { recursive: true })
      await symlink(e.linkname, abs)
      links.add(rel)
    }
    written.push(e.path)
  }
  return written
}
