import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isLilyError, LilyError, ProtocolError } from '../../src/protocol/errors.js'
import { JsonBigIntError } from '../../src/protocol/json.js'
import { MatchingError } from '../../src/matching/types.js'
import { ChainError } from '../../src/chain/errors.js'
import { ExecutorError } from '../../src/executor/errors.js'
import { ModuleNotFoundError } from '../../src/executor/modules.js'
import { SlurmError } from '../../src/executor/backends/slurm/types.js'
import { GossipRefusal, P2pError } from '../../src/p2p/errors.js'
import { GossipConfigError } from '../../src/p2p/libp2p.js'
import { RpcRefusal } from '../../src/p2p/reqresp/rpc.js'
import { TransferError } from '../../src/p2p/reqresp/transfer.js'
import { NodeError } from '../../src/node/errors.js'
import { ChainFactsError } from '../../src/node/chainFacts.js'
import { DealStoreError } from '../../src/node/roles/deals.js'
import { CreatorError } from '../../src/node/roles/creator.js'
import { RoleError } from '../../src/node/roles/roles.js'
import { ExecutorRunError } from '../../src/node/roles/adapters.js'
import { ApiError } from '../../src/api/schema.js'
import { SdkError } from '../../src/sdk/errors.js'
import { ChainCommandError } from '../../src/sdk/chainChores.js'
import { CliError } from '../../src/cli/command.js'

async function sourceFiles (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await sourceFiles(p))
    else if (e.name.endsWith('.ts')) out.push(p)
  }
  return out
}

describe('protocol/errors: one base for every typed error', () => {
  it('no class in src extends Error directly, except LilyError itself', async () => {
    const offenders: string[] = []
    for (const f of await sourceFiles('src')) {
      const text = await readFile(f, 'utf8')
      for (const m of text.matchAll(/class\s+(\w+)(?:<[^>]*>)?\s+extends\s+Error\b/g)) {
        if (!(f === join('src', 'protocol', 'errors.ts') && m[1] === 'LilyError')) offenders.push(`${f}: ${m[1]}`)
      }
    }
    assert.deepEqual(offenders, [], 'typed errors must extend LilyError (src/protocol/errors.ts)')
  })

  it('every typed error is a LilyError with its code and name', () => {
    const cases: Array<[LilyError, string, string]> = [
      [new ProtocolError('PROTOCOL_MALFORMED', 'reject', 'm'), 'PROTOCOL_MALFORMED', 'ProtocolError'],
      [new JsonBigIntError('m'), 'PROTOCOL_BAD_BIGINT', 'JsonBigIntError'],
      [new MatchingError('MATCHING_BAD_STATE', 'm'), 'MATCHING_BAD_STATE', 'MatchingError'],
      [new ChainError('CHAIN_REVERTED', 'm', { errorName: 'X', details: { a: 1 } }), 'CHAIN_REVERTED', 'ChainError'],
      [new ExecutorError('EXECUTOR_BAD_TAR', 'm'), 'EXECUTOR_BAD_TAR', 'ExecutorError'],
      [new ModuleNotFoundError('m'), 'MODULE_NOT_FOUND', 'ModuleNotFoundError'],
      [new SlurmError('SLURM_UNREACHABLE', 'm'), 'SLURM_UNREACHABLE', 'SlurmError'],
      [new P2pError('P2P_RPC_TIMEOUT', 'm'), 'P2P_RPC_TIMEOUT', 'P2pError'],
      [new GossipRefusal('GOSSIP_DUPLICATE', 'ignore', 'm'), 'GOSSIP_DUPLICATE', 'GossipRefusal'],
      [new GossipConfigError('m'), 'NODE_BAD_GOSSIP_CONFIG', 'GossipConfigError'],
      [new RpcRefusal('P2P_RPC_BAD_REQUEST', 'm'), 'P2P_RPC_BAD_REQUEST', 'RpcRefusal'],
      [new TransferError('TRANSFER_TOO_LARGE', 'm'), 'TRANSFER_TOO_LARGE', 'TransferError'],
      [new NodeError('NODE_NOT_STARTED', 'm'), 'NODE_NOT_STARTED', 'NodeError'],
      [new ChainFactsError('CHAINFACTS_UNAVAILABLE', 'm'), 'CHAINFACTS_UNAVAILABLE', 'ChainFactsError'],
      [new DealStoreError('LIFECYCLE_UNKNOWN_DEAL', 'm'), 'LIFECYCLE_UNKNOWN_DEAL', 'DealStoreError'],
      [new CreatorError('CREATOR_NO_MATCH', 'm'), 'CREATOR_NO_MATCH', 'CreatorError'],
      [new RoleError('ROLE_BAD_INPUT', 'm', 3), 'ROLE_BAD_INPUT', 'RoleError'],
      [new ExecutorRunError('RUN_FAILED', 'm'), 'RUN_FAILED', 'ExecutorRunError'],
      [new ApiError('API_BAD_JSON', 400, 'm'), 'API_BAD_JSON', 'ApiError'],
      [new SdkError('SDK_BAD_OPTION', 'm'), 'SDK_BAD_OPTION', 'SdkError'],
      [new ChainCommandError('CHAIN_CMD_BAD_INPUT', 'm'), 'CHAIN_CMD_BAD_INPUT', 'ChainCommandError'],
      [new CliError('m'), 'CLI_USAGE', 'CliError']
    ]
    for (const [e, code, name] of cases) {
      assert.ok(e instanceof LilyError && e instanceof Error, name)
      assert.equal(e.code, code, name)
      assert.equal(e.name, name)
      assert.equal(e.shortMessage, 'm')
      assert.ok(isLilyError(e, code))
    }
    assert.equal(new CliError('m', 1).code, 'CLI_FAILED')
    assert.deepEqual(new ChainError('CHAIN_REVERTED', 'm', { details: { a: 1 } }).details, { a: 1 })
  })

  it('walks the cause chain and describes it one line per link', () => {
    const root = new TypeError('socket closed')
    const mid = new P2pError('P2P_RPC_TIMEOUT', 'sync timed out after 5000 ms', { cause: root })
    const top = new NodeError('NODE_SYNC_FAILED', 'reconcile failed', { cause: mid, details: { epoch: '7' } })
    assert.equal(top.walk(), root)
    assert.equal(top.walk((e) => e instanceof P2pError), mid)
    assert.equal(top.walk((e) => e instanceof RangeError), undefined)
    const alone = new NodeError('NODE_NOT_STARTED', 'x')
    assert.equal(alone.walk(), alone)
    assert.deepEqual(top.details, { epoch: '7' })
    assert.equal(top.describe(), '[NODE_SYNC_FAILED] reconcile failed\ncaused by: [P2P_RPC_TIMEOUT] sync timed out after 5000 ms\ncaused by: socket closed')
    // a cycle in the chain ends the walk
    const a = new NodeError('NODE_SYNC_FAILED', 'a')
    const b = new NodeError('NODE_SYNC_FAILED', 'b', { cause: a })
    Object.defineProperty(a, 'cause', { value: b })
    assert.ok(b.walk() instanceof NodeError)
    assert.equal(b.walk((e) => e instanceof RangeError), undefined)
  })
})
