/**
 * PROTOCOL.md cannot drift from the code: every ```json vector:<name> block in it must equal what
 * src computes now (scripts/protocolDocVectors.ts), every vector src computes must be in the
 * document, and the values the document's prose relies on are checked against the vectors by an
 * independent implementation (viem, node:crypto) so that the vectors themselves are not simply
 * src agreeing with itself.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { hashTypedData, keccak256, recoverTypedDataAddress, toBytes, type Hex } from 'viem'
import { docBlock, docVectors, parseDocBlocks, updateDocBlocks } from '../../scripts/protocolDocVectors.js'
import { EIP712_TYPES } from '../../src/protocol/eip712.js'

// tests run from dist/test/protocol; PROTOCOL.md is at the repository root
const DOC = fileURLToPath(new URL('../../../PROTOCOL.md', import.meta.url))

interface MessageVector { signer: Hex, primaryType: keyof typeof EIP712_TYPES, body: Record<string, unknown>, digest: Hex, signature: Hex, wire: string, gossipFrom: Hex, gossipMessageId: Hex }

describe('protocol: the vectors of PROTOCOL.md', () => {
  const md = readFileSync(DOC, 'utf8')
  const inDoc = parseDocBlocks(md)
  const computed = docVectors()

  it('holds every vector src computes, and no other', () => {
    assert.deepEqual([...inDoc.keys()].sort(), Object.keys(computed).sort())
  })

  for (const name of Object.keys(computed)) {
    it(`vector ${name} equals what src computes`, () => {
      assert.deepEqual(inDoc.get(name), computed[name], `PROTOCOL.md is out of date; rewrite its blocks with: npx tsc -p . && node dist/scripts/protocolVectors.js --doc-update\n${docBlock(name, computed[name])}`)
    })
  }

  it('notices a changed block (the check can fail)', () => {
    const tampered = md.replace('"tag": "', '"tag": "0')
    assert.notDeepEqual(parseDocBlocks(tampered).get('profile'), computed.profile)
    assert.equal(updateDocBlocks(tampered, computed), md, '--doc-update restores the document')
  })

  it('the prose states the same type strings, domain and ids as the vectors', () => {
    const e = computed.eip712 as { domainTypeString: string, types: Record<string, { typeString: string }> }
    for (const t of [e.domainTypeString, ...Object.values(e.types).map((x) => x.typeString)]) {
      assert.ok(md.split('```json vector:')[0].includes(t), `§4 states ${t}`)
    }
    for (const t of ['/lilynode/<tag>/<kind>/1', '/lilynode/<tag>/<name>/1.0.0', '/lilynode/<tag>/kad/1.0.0', 'name = "lilynode", version = "1"']) assert.ok(md.includes(t), `PROTOCOL.md states ${t}`)
  })

  it('profile hash and tag follow §3.2 (keccak256 of the canonical text)', () => {
    const p = computed.profile as { canonical: string, hash: Hex, tag: string, topics: Record<string, string> }
    assert.equal(keccak256(toBytes(p.canonical)), p.hash)
    assert.equal(p.tag, p.hash.slice(2, 18))
    assert.equal(p.topics.jobs, `/lilynode/${p.tag}/jobs/1`)
  })

  for (const name of ['job-offer', 'resource-offer', 'deal-acceptance', 'heartbeat']) {
    it(`${name}: digest, signer and message id follow §4.3, §4.4 and §6.2 (checked with viem and node:crypto)`, async () => {
      const v = computed[name] as MessageVector
      const e = computed.eip712 as { domain: { name: string, version: string, chainId: string, verifyingContract: Hex } }
      const domain = { ...e.domain, chainId: BigInt(e.domain.chainId) }
      const types = { [v.primaryType]: EIP712_TYPES[v.primaryType] }
      const message = Object.fromEntries(EIP712_TYPES[v.primaryType].map((f) => [f.name, f.type === 'uint64' || f.type === 'uint256' ? BigInt(v.body[f.name] as string) : v.body[f.name]]))
      assert.equal(hashTypedData({ domain, types, primaryType: v.primaryType, message } as never), v.digest)
      assert.equal((await recoverTypedDataAddress({ domain, types, primaryType: v.primaryType, message, signature: v.signature } as never)).toLowerCase(), v.signer)
      const data = Buffer.from(v.wire, 'utf8')
      const id = createHash('sha256').update(Buffer.from(v.gossipFrom.slice(2), 'hex')).update(data).digest('hex')
      assert.equal(`0x${id}`, v.gossipMessageId)
      assert.equal(JSON.stringify(JSON.parse(v.wire)), v.wire, 'no whitespace, plain numbers, minimal escapes (§5)')
    })
  }
})
