import assert from 'node:assert/strict'
import { parseArgs, helpText } from '../../src/cli/args.js'
import { CliError, type Command } from '../../src/cli/command.js'

const run: Command = {
  name: 'run',
  summary: 'run a job',
  usage: 'lilynode run <module> [--input K=V]...',
  flags: [
    { name: 'input', short: 'i', type: 'string', multiple: true, description: 'job input K=V' },
    { name: 'json', type: 'boolean', description: 'JSON lines' },
    { name: 'data-dir', type: 'string', description: 'data dir', default: '.lilynode' }
  ],
  run: async () => 0
}
const chainDeposit: Command = { name: 'deposit', summary: 'deposit', usage: 'lilynode chain deposit', flags: [{ name: 'amount', type: 'string', description: 'wei' }], run: async () => 0 }
const root: Command = {
  name: 'lilynode',
  summary: 'root',
  usage: 'lilynode <command>',
  flags: [],
  subcommands: [run, { name: 'chain', summary: 'chain chores', usage: 'lilynode chain <command>', flags: [], subcommands: [chainDeposit] }]
}

describe('cli/args', () => {
  it('parses Lilypad-style -i and --input, in order, with defaults', () => {
    const r = parseArgs(root, ['run', 'cowsay:v0.0.4', '-i', 'Message=moo', '--input=Other=a=b', '--json'])
    assert.deepEqual(r.path.map((c) => c.name), ['lilynode', 'run'])
    assert.deepEqual(r.args.positionals, ['cowsay:v0.0.4'])
    assert.deepEqual(r.args.flags.input, ['Message=moo', 'Other=a=b'])
    assert.equal(r.args.flags.json, true)
    assert.equal(r.args.flags['data-dir'], '.lilynode')
  })

  it('resolves sub-commands', () => {
    const r = parseArgs(root, ['chain', 'deposit', '--amount', '10'])
    assert.deepEqual(r.path.map((c) => c.name), ['lilynode', 'chain', 'deposit'])
    assert.equal(r.args.flags.amount, '10')
  })

  it('refuses unknown options and commands with a hint', () => {
    assert.throws(() => parseArgs(root, ['run', '--nope']), (e: unknown) => e instanceof CliError && /unknown option '--nope'.*--help/.test(e.message))
    assert.throws(() => parseArgs(root, ['fly']), (e: unknown) => e instanceof CliError && /unknown command 'fly'/.test(e.message))
    assert.throws(() => parseArgs(root, ['run', '--input']), (e: unknown) => e instanceof CliError && /needs a value/.test(e.message))
    assert.throws(() => parseArgs(root, ['run', '--json=maybe']), (e: unknown) => e instanceof CliError && /true\/false/.test(e.message))
  })

  it('understands --help anywhere and prints every option', () => {
    assert.equal(parseArgs(root, ['run', 'x', '--help']).help, true)
    assert.equal(parseArgs(root, ['chain', '--help']).help, true)
    const text = helpText([root, run])
    for (const f of ['-i, --input', '--json', '--data-dir', 'default: .lilynode', 'repeatable']) assert.ok(text.includes(f), f)
  })

  it('keeps everything after -- positional', () => {
    const r = parseArgs(root, ['run', '--', '--json'])
    assert.deepEqual(r.args.positionals, ['--json'])
  })
})
