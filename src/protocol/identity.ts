/**
 * One identity per node (DESIGN §1): a single secp256k1 key that is at once the libp2p peer
 * ID and the Ethereum address, so a gossiped offer, the peer that sent it and the on-chain
 * party are provably the same.
 *
 * Key file `<dataDir>/key.json`, always mode 0600, written through a temp file so a crash
 * never leaves half a key:
 * - without `LILYNODE_KEY_PASSWORD`: `{ "version": 1, "kind": "lilynode-key", "address",
 *   "privateKey" }` — the raw key in hex, protected only by the file mode;
 * - with `LILYNODE_KEY_PASSWORD` set: a standard Ethereum V3 keystore (scrypt + aes-128-ctr,
 *   keccak MAC), which geth, foundry's `cast wallet` and ethers can also open.
 * Loading detects which of the two the file is.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual } from 'node:crypto'
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { privateKeyToAddress, publicKeyToAddress, randomPrivateKey } from './crypto.js'
import { ProtocolError } from './errors.js'
import { bytesToHex, concatBytes, hexToBytes } from './hex.js'
import type { Address } from './types.js'

export interface Identity {
  /** The raw 32-byte secp256k1 secret. Never log it. */
  privateKey: Uint8Array
  address: Address
  peerId: PeerId
  /** The same key as a libp2p key, for `createLibp2p({ privateKey })`. */
  libp2pKey: PrivateKey
}

export interface LoadIdentityOptions {
  /** Create and store a new key when none exists (default true). */
  create?: boolean
  /** Passphrase for a V3 keystore; defaults to env LILYNODE_KEY_PASSWORD. */
  password?: string
}

export const KEY_FILE = 'key.json'
export const KEY_PASSWORD_ENV = 'LILYNODE_KEY_PASSWORD'

function badKey (message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('PROTOCOL_BAD_KEY', 'reject', message, cause === undefined ? undefined : { cause })
}

/** Builds an identity from a 32-byte secp256k1 secret. */
export function identityFromPrivateKey (bytes: Uint8Array): Identity {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32 || !secp256k1.utils.isValidSecretKey(bytes)) {
    throw badKey('a private key must be 32 bytes and a valid secp256k1 scalar (0 < k < n)')
  }
  const privateKey = Uint8Array.from(bytes)
  const libp2pKey = privateKeyFromRaw(privateKey)
  return { privateKey, address: privateKeyToAddress(privateKey), peerId: peerIdFromPrivateKey(libp2pKey), libp2pKey }
}

export function createIdentity (): Identity {
  return identityFromPrivateKey(randomPrivateKey())
}

/**
 * The Ethereum address of a secp256k1 public key: raw 33-byte compressed or 65-byte
 * uncompressed bytes, or a libp2p public key.
 */
export function addressOf (publicKey: Uint8Array | PublicKey): Address {
  if (publicKey instanceof Uint8Array) {
    try {
      return publicKeyToAddress(publicKey.length === 65 ? secp256k1.Point.fromBytes(publicKey).toBytes(false) : publicKey)
    } catch (cause) {
      throw badKey('not a secp256k1 public key (expected 33 or 65 bytes of a point on the curve)', cause)
    }
  }
  if (publicKey.type !== 'secp256k1') throw badKey(`a ${publicKey.type} key has no Ethereum address; lilynode peers use secp256k1 keys`)
  return addressOf(publicKey.raw)
}

const PEER_CACHE_MAX = 4096
const peerAddressCache = new Map<string, Address>()

/**
 * The Ethereum address of a peer, derived from the secp256k1 public key inlined in its
 * peer ID. PROTOCOL_BAD_KEY for other key types (such a peer cannot take part).
 */
export function peerIdToAddress (peerId: PeerId | string): Address {
  const key = typeof peerId === 'string' ? peerId : peerId.toString()
  const hit = peerAddressCache.get(key)
  if (hit !== undefined) return hit
  let id: PeerId
  try {
    id = typeof peerId === 'string' ? peerIdFromString(peerId) : peerId
  } catch (cause) {
    throw badKey(`not a peer ID: ${JSON.stringify(key.slice(0, 80))}`, cause)
  }
  if (id.type !== 'secp256k1') throw badKey(`peer ${key} uses a ${id.type} key; lilynode peers must use secp256k1 keys`)
  const address = addressOf(id.publicKey)
  if (peerAddressCache.size >= PEER_CACHE_MAX) peerAddressCache.delete(peerAddressCache.keys().next().value as string)
  peerAddressCache.set(key, address)
  return address
}

// ---------------------------------------------------------------- key file

interface PlainKeyFile { version: 1, kind: 'lilynode-key', address: string, privateKey: string }

interface V3Keystore {
  version: 3
  id: string
  address: string
  crypto: {
    cipher: 'aes-128-ctr'
    cipherparams: { iv: string }
    ciphertext: string
    kdf: 'scrypt'
    kdfparams: { dklen: number, n: number, r: number, p: number, salt: string }
    mac: string
  }
}

/** scrypt cost for new keystores: geth's "standard" N = 2^18 is ~1 s here; 2^17 halves it. */
const SCRYPT_N = 1 << 17
const SCRYPT_R = 8
const SCRYPT_P = 1
/** scrypt needs about 128·N·r bytes; keystores asking for more than 256 MiB are refused, and this is the ceiling given to OpenSSL. */
const SCRYPT_MEM_LIMIT = 256 * 1024 * 1024
const SCRYPT_MAX_MEM = 2 * SCRYPT_MEM_LIMIT

async function scrypt (password: string, salt: Uint8Array, n: number, r: number, p: number, dklen: number): Promise<Uint8Array> {
  // OpenSSL refuses N ≥ 2^(16·r) (RFC 7914's bound), which some keystores use (r = 1, N = 2^18):
  // those go through the pure-JS scrypt instead, slower but standard
  if (n >= 2 ** (16 * r)) {
    try {
      return await scryptAsync(password.normalize('NFKC'), salt, { N: n, r, p, dkLen: dklen, maxmem: SCRYPT_MAX_MEM })
    } catch (err) {
      throw badKey(`scrypt failed: ${(err as Error).message}`, err)
    }
  }
  return await new Promise((resolve, reject) => {
    const done = (err: Error | null, key: Buffer): void => {
      if (err !== null) reject(badKey(`scrypt failed: ${err.message}`, err))
      else resolve(key)
    }
    try {
      scryptCb(password.normalize('NFKC'), salt, dklen, { N: n, r, p, maxmem: SCRYPT_MAX_MEM }, done)
    } catch (err) {
      reject(badKey(`scrypt parameters refused: ${(err as Error).message}`, err))
    }
  })
}

const strip0x = (h: string): string => h.startsWith('0x') ? h.slice(2) : h
const withPrefix = (h: string): string => h.startsWith('0x') ? h : `0x${h}`

async function encryptV3 (priv: Uint8Array, address: Address, password: string): Promise<V3Keystore> {
  const salt = randomBytes(32)
  const iv = randomBytes(16)
  const dk = await scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, 32)
  const cipher = createCipheriv('aes-128-ctr', dk.subarray(0, 16), iv)
  const ciphertext = concatBytes(cipher.update(priv), cipher.final())
  return {
    version: 3,
    id: randomUUID(),
    address: address.slice(2),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: iv.toString('hex') },
      ciphertext: bytesToHex(ciphertext).slice(2),
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, salt: salt.toString('hex') },
      mac: bytesToHex(keccak_256(concatBytes(dk.subarray(16, 32), ciphertext))).slice(2)
    }
  }
}

async function decryptV3 (ks: V3Keystore, password: string, path: string): Promise<Uint8Array> {
  const c = ks.crypto
  const kp = c?.kdfparams
  if (c?.kdf !== 'scrypt' || c.cipher !== 'aes-128-ctr' || typeof kp !== 'object' || kp === null) {
    throw badKey(`${path}: only scrypt + aes-128-ctr V3 keystores are supported`)
  }
  const { n, r, p, dklen } = kp
  const ok = (x: unknown, max: number): boolean => Number.isSafeInteger(x) && (x as number) >= 1 && (x as number) <= max
  if (!ok(n, 1 << 20) || (n & (n - 1)) !== 0 || !ok(r, 32) || !ok(p, 16) || dklen !== 32 || 128 * n * r > SCRYPT_MEM_LIMIT) {
    throw badKey(`${path}: keystore scrypt parameters out of range (n ≤ 2^20, power of two; r ≤ 32; p ≤ 16; 128·n·r ≤ 256 MiB; dklen 32)`)
  }
  let salt: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, mac: Uint8Array
  try {
    salt = hexToBytes(withPrefix(kp.salt))
    iv = hexToBytes(withPrefix(c.cipherparams.iv), 16)
    ciphertext = hexToBytes(withPrefix(c.ciphertext), 32)
    mac = hexToBytes(withPrefix(c.mac), 32)
  } catch (cause) {
    throw badKey(`${path}: keystore has malformed hex fields`, cause)
  }
  const dk = await scrypt(password, salt, n, r, p, 32)
  const want = keccak_256(concatBytes(dk.subarray(16, 32), ciphertext))
  if (!timingSafeEqual(want, mac)) throw badKey(`${path}: wrong password (keystore MAC mismatch); check ${KEY_PASSWORD_ENV}`)
  const decipher = createDecipheriv('aes-128-ctr', dk.subarray(0, 16), iv)
  return concatBytes(decipher.update(ciphertext), decipher.final())
}

/**
 * Refuses a key file that anyone but its owner can read or write, one owned by another user,
 * and one in a folder that someone else could swap it in (a folder writable by group or others
 * without the sticky bit, at any level above the file): there, another account could replace
 * key.json with a key of its own, and the node would sign — and deposit — as that account.
 */
async function checkMode (path: string): Promise<void> {
  if (process.platform === 'win32') return
  const st = await stat(path)
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(3, '0')
    throw badKey(`key file ${path} has mode ${mode}: group or others have access to it, so the key must be ` +
      `treated as leaked if it held funds; lilynode refuses to use it. Fix it with: chmod 600 ${path}`)
  }
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid) {
    throw badKey(`key file ${path} belongs to user ${st.uid}, not to this process's user ${uid}: another account could read or replace it; lilynode refuses to use it. Fix it with: chown ${uid} ${path}`)
  }
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const d = await stat(dir)
    if ((d.mode & 0o022) !== 0 && (d.mode & 0o1000) === 0) {
      const mode = (d.mode & 0o7777).toString(8).padStart(4, '0')
      throw badKey(`key file ${path} is inside ${dir} (mode ${mode}), which group or others may write: another account could swap the key for its own; lilynode refuses to use it. Fix it with: chmod go-w ${dir} (or move the data dir)`)
    }
    if (dirname(dir) === dir) break
  }
}

function parseKeyFile (text: string, path: string): PlainKeyFile | V3Keystore {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw badKey(`${path} is not valid JSON; restore it from a backup or move it away to create a new key`, cause)
  }
  if (typeof json !== 'object' || json === null) throw badKey(`${path} is not a key file`)
  const v = (json as { version?: unknown }).version
  if (v === 1 && (json as PlainKeyFile).kind === 'lilynode-key') return json as PlainKeyFile
  if (v === 3 && typeof (json as V3Keystore).crypto === 'object') return json as V3Keystore
  throw badKey(`${path}: unknown key file format (expected {"version":1,"kind":"lilynode-key"} or an Ethereum V3 keystore)`)
}

/** Reads, checks and decrypts a key file. */
export async function loadIdentity (path: string, password = process.env[KEY_PASSWORD_ENV]): Promise<Identity> {
  await checkMode(path)
  const text = await readFile(path, 'utf8')
  if (text.length > 64 * 1024) throw badKey(`${path} is too large to be a key file`)
  const file = parseKeyFile(text, path)
  let priv: Uint8Array
  if (file.version === 1) {
    try {
      priv = hexToBytes(file.privateKey, 32)
    } catch (cause) {
      throw badKey(`${path}: privateKey must be 32 bytes of 0x-hex`, cause)
    }
  } else {
    if (password === undefined || password === '') throw badKey(`${path} is an encrypted keystore; set ${KEY_PASSWORD_ENV} to its password`)
    priv = await decryptV3(file, password, path)
  }
  const id = identityFromPrivateKey(priv)
  if (typeof file.address === 'string' && withPrefix(file.address).toLowerCase() !== id.address) {
    throw badKey(`${path}: the stored address ${file.address} does not match the key (${id.address}); the file is corrupt`)
  }
  return id
}

/**
 * Writes the key file: temp file (0600, exclusive) → hard link to the final name, which
 * fails rather than overwrites when another process created a key first.
 * Returns false when a key file already existed.
 */
export async function saveIdentity (path: string, id: Identity, password = process.env[KEY_PASSWORD_ENV]): Promise<boolean> {
  const body: PlainKeyFile | V3Keystore = password !== undefined && password !== ''
    ? await encryptV3(id.privateKey, id.address, password)
    : { version: 1, kind: 'lilynode-key', address: id.address, privateKey: bytesToHex(id.privateKey) }
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.writeFile(JSON.stringify(body, null, 2) + '\n')
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await link(tmp, path)
    return true
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    // file systems without hard links: rename (atomic, but the last of two racing creators wins)
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      await rename(tmp, path)
      return true
    }
    throw e
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

/**
 * The node's identity from `<dataDir>/key.json`; creates one (and the data dir, mode 0700)
 * when missing unless `create: false`.
 */
export async function loadOrCreateIdentity (dataDir: string, opts: LoadIdentityOptions = {}): Promise<Identity> {
  const path = join(dataDir, KEY_FILE)
  const password = opts.password ?? process.env[KEY_PASSWORD_ENV]
  try {
    return await loadIdentity(path, password)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  if (opts.create === false) throw badKey(`no key file at ${path}; let the node create one on its first start, or copy an existing key file there (mode 0600)`)
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const id = createIdentity()
  if (await saveIdentity(path, id, password)) return id
  // another process won the race; use its key
  return await loadIdentity(path, password)
}
