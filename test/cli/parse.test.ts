import assert from 'node:assert/strict'
import { CliError, defineCommand, type CommandModule } from '../../src/cli/command.js'
import { helpText, parseArgs } from '../../src/cli/parse.js'
import { big, choice, closest, flag, hex, int, list, pairs, str, U96_MAX, wei, type Values } from '../../src/cli/typedOptions.js'
import { root } from '../../src/cli/main.js'
import { runOptions, MAX_TIMEOUT_S } from '../../src/cli/cmds/run/options.js'
import { requestOptions } from '../../src/cli/cmds/request/options.js'
import { MAX_QUERY_LIMIT as CLI_MAX_QUERY_LIMIT, QUERY_KINDS as CLI_QUERY_KINDS, queryOptions } from '../../src/cli/cmds/query/options.js'
import { DEFAULT_COLLATERAL, DEFAULT_MAX_PRICE, DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S as SDK_MAX_TIMEOUT_S } from '../../src/sdk/index.js'
import { MAX_QUERY_LIMIT, QUERY_KINDS } from '../../src/p2p/index.js'

const options = {
  input: pairs({ short: 'i', description: 'job input' }),
  json: flag({ description: 'JSON lines' }),
  'data-dir': str({ description: 'data dir', default: '.lilynode' }),
  out: str({ description: 'output dir' }),
  timeout: int({ description: 'seconds', min: 1, max: 86_400, default: 60 }),
  'max-price': wei({ description: 'wei', default: 10n ** 15n }),
  fee: big({ description: 'wei', max: (1n << 256n) - 1n }),
  escrow: hex({ bytes: 20, what: 'an address', description: 'escrow' }),
  kind: choice({ choices: ['job', 'resource'] as const, description: 'kind' }),
  listen: list({ description: 'multiaddr' }),
  name: str({ description: 'required one', required: true })
}
const run = defineCommand({ name: 'run', summary: 'run a job', usage: 'lilynode run <module>', options, args: { names: '<module>', min: 1, max: 1, hint: 'exactly one module' } })
const deposit = defineCommand({ name: 'deposit', summary: 'deposit', usage: 'lilynode chain deposit', options: { amount: wei({ description: 'wei', required: true }) } })
const testRoot = defineCommand({
  name: 'lilynode',
  summary: 'root',
  usage: 'lilynode <command>',
  options: {},
  subcommands: [run, { name: 'chain', summary: 'chain chores', usage: 'lilynode chain <command>', options: {}, subcommands: [deposit as CommandModule] }] as CommandModule[]
})

type RunValues = Values<typeof options>

function parse (argv: string[]): RunValues {
  return parseArgs(testRoot, argv).values as RunValues
}

function refused (argv: string[], re: RegExp): void {
  assert.throws(() => parseArgs(testRoot, argv), (e: unknown) => {
    assert.ok(e instanceof CliError, `a CliError, got ${String(e)}`)
    assert.equal(e.exitCode, 2, 'usage errors exit 2')
    assert.match(e.message, re)
    return true
  }, argv.join(' '))
}

describe('cli/parse: typed, strict options on node:util parseArgs', () => {
  it('gives each option its type, camelCased, with defaults', () => {
    const v = parse(['run', 'cowsay:v0.0.4', '-i', 'Message=moo', '--input=Other=a=b', '--json', '--timeout', '90', '--max-price=123', '--fee', '0', '--escrow', '0xABCDEF0123456789ABCDEF0123456789ABCDEF01', '--kind', 'job', '--listen', '/a', '--listen', '/b', '--name', 'n'])
    assert.deepEqual(v.input, ['Message=moo', 'Other=a=b'])
    assert.equal(v.json, true)
    assert.equal(v.dataDir, '.lilynode')
    assert.equal(v.out, undefined)
    assert.equal(v.timeout, 90)
    assert.equal(v.maxPrice, 123n)
    assert.equal(v.fee, 0n)
    assert.equal(v.escrow, '0xabcdef0123456789abcdef0123456789abcdef01')
    assert.equal(v.kind, 'job')
    assert.deepEqual(v.listen, ['/a', '/b'])
    const d = parse(['run', 'x', '--name', 'n'])
    assert.equal(d.timeout, 60)
    assert.equal(d.maxPrice, 10n ** 15n)
    assert.equal(d.json, false)
    assert.deepEqual(d.input, [])
    assert.deepEqual(d.listen, [])
    assert.deepEqual(parseArgs(testRoot, ['run', 'x', '--name', 'n']).positionals, ['x'])
  })

  it('checks bounds and number formats at parse time', () => {
    refused(['run', 'x', '--name', 'n', '--timeout', '0'], /--timeout must be a whole number from 1 to 86400, got '0'/)
    refused(['run', 'x', '--name', 'n', '--timeout', '86401'], /--timeout/)
    for (const bad of ['1.5', '1e3', 'ten', '-5', '0x10', '']) refused(['run', 'x', '--name', 'n', `--timeout=${bad}`], /--timeout must be a whole number/)
    refused(['run', 'x', '--name', 'n', '--max-price', (U96_MAX + 1n).toString()], /at most 79228162514264337593543950335 wei \(2\^96-1/)
    assert.equal(parse(['run', 'x', '--name', 'n', '--max-price', U96_MAX.toString()]).maxPrice, U96_MAX)
    for (const bad of ['1e15', '-1', '0x10', '1_000', '1.0', '9'.repeat(81)]) refused(['run', 'x', '--name', 'n', '--max-price', bad], /--max-price must be a whole number of wei/)
    refused(['run', 'x', '--name', 'n', '--escrow', '0x1234'], /--escrow needs an address \(0x \+ 40 hex digits\)/)
    refused(['run', 'x', '--name', 'n', '--kind', 'jobs'], /one of job, resource, got 'jobs'; did you mean job\?/)
  })

  it('refuses unknown options and commands, suggesting the nearest', () => {
    refused(['run', 'x', '--nope'], /unknown option '--nope' for 'lilynode run'.*--help/)
    refused(['run', 'x', '--max-pric', '5'], /unknown option '--max-pric'.*did you mean --max-price\?/)
    refused(['run', 'x', '--jsno'], /did you mean --json\?/)
    refused(['run', 'x', '-z'], /unknown option '-z'/)
    refused(['rnu'], /unknown command 'rnu' for 'lilynode'; did you mean 'run'\?\ncommands: run, chain/)
    refused(['fly'], /unknown command 'fly'[^;]*\ncommands: run, chain/)
    refused(['chain', 'depost'], /did you mean 'deposit'/)
    refused(['chain'], /lilynode chain needs a command; commands: deposit/)
    refused(['--verbose'], /unknown option '--verbose' for 'lilynode'/)
  })

  it('refuses a single-valued option given twice, and an input key given twice, naming it', () => {
    refused(['run', 'x', '--name', 'n', '--timeout', '5', '--timeout', '6'], /option --timeout is given 2 times \('5', '6'\); give it once/)
    refused(['run', 'x', '--name', 'n', '--json', '--json'], /--json is given 2 times/)
    refused(['run', 'x', '--name', 'n', '-i', 'top=5', '-i', 'top=6'], /input 'top' is given twice \(--input top=5 and --input top=6\)/)
    refused(['run', 'x', '--name', 'n', '-i', 'novalue'], /--input needs KEY=VALUE, got 'novalue'/)
    // repeatable options keep every value
    assert.deepEqual(parse(['run', 'x', '--name', 'n', '-i', 'a=1', '-i', 'b=1']).input, ['a=1', 'b=1'])
  })

  it('refuses missing values, values on switches, options taken as values, and missing required options', () => {
    refused(['run', 'x', '--name', 'n', '--out'], /option --out needs a value/)
    refused(['run', 'x', '--name', 'n', '--out', '--json'], /--out needs a value, got the option '--json'/)
    assert.equal(parse(['run', 'x', '--name', 'n', '--out=--json']).out, '--json')
    refused(['run', 'x', '--name', 'n', '--json=maybe'], /--json takes no value, got 'maybe'/)
    refused(['run', 'x'], /missing option --name/)
    refused(['chain', 'deposit'], /missing option --amount/)
  })

  it('checks the positionals and points a stray KEY=VALUE at -i', () => {
    refused(['run', '--name', 'n'], /lilynode run needs exactly one module/)
    refused(['run', 'cowsay:v0.0.4', 'Message=hi', '--name', 'n'], /unexpected argument 'Message=hi': give job inputs with -i \(lilynode run cowsay:v0\.0\.4 -i Message=hi\)/)
    refused(['run', 'a', 'b', '--name', 'n'], /unexpected argument 'b'/)
    refused(['chain', 'deposit', 'extra', '--amount', '1'], /takes no arguments, got 'extra'/)
    assert.deepEqual(parseArgs(testRoot, ['run', '--name', 'n', '--', '--json']).positionals, ['--json'])
  })

  it('understands --help anywhere, before any check, and lists every option with its bounds and default', () => {
    assert.equal(parseArgs(testRoot, ['run', '--help', '--bogus']).help, true)
    assert.equal(parseArgs(testRoot, ['run', 'x', '-h']).help, true)
    assert.equal(parseArgs(testRoot, ['chain', '--help']).help, true)
    assert.equal(parseArgs(testRoot, ['--help']).help, true)
    const text = helpText([testRoot, run])
    for (const f of ['-i, --input <KEY=VALUE>', '--json', '--data-dir <value>', 'default: .lilynode', 'repeatable', '--timeout <n>', '1..86400', '< 2^96', 'required', 'job|resource', '-h, --help']) assert.ok(text.includes(f), `${f} in\n${text}`)
  })

  it('suggests only near names', () => {
    assert.equal(closest('rnu', ['run', 'resume']), 'run')
    assert.equal(closest('provder', ['provider', 'query']), 'provider')
    assert.equal(closest('xyz', ['run', 'query']), undefined)
    assert.equal(closest('ch', ['chain', 'creator']), 'chain')
  })

  it('every real command parses its own defaults, renders its help, and shares the SDK\'s and the protocol\'s constants', () => {
    const walk = (path: CommandModule[]): void => {
      const cmd = path[path.length - 1]
      const text = helpText(path)
      assert.ok(text.startsWith(`usage: ${cmd.usage}`))
      for (const [name, o] of Object.entries(cmd.options)) {
        assert.match(name, /^[a-z][a-z0-9-]*$/, 'kebab-case option names')
        assert.ok(o.description.length > 5 && text.includes(`--${name}`), `${cmd.name} --${name} is documented`)
        if (o.defaultText !== undefined) assert.ok(!o.defaultText.includes('/root/') && !o.defaultText.includes('/home/'), 'defaults in help are the same on every machine')
      }
      for (const sub of cmd.subcommands ?? []) walk([...path, sub])
    }
    walk([root])
    assert.equal(runOptions['max-price'].absent(), DEFAULT_MAX_PRICE)
    assert.equal(runOptions.collateral.absent(), DEFAULT_COLLATERAL)
    assert.equal(runOptions.timeout.absent(), undefined, 'run: the module\'s timeoutS, else DEFAULT_TIMEOUT_S (the handler decides)')
    assert.equal(MAX_TIMEOUT_S, SDK_MAX_TIMEOUT_S)
    assert.equal(requestOptions['max-price'].absent(), DEFAULT_MAX_PRICE)
    assert.deepEqual(CLI_QUERY_KINDS, QUERY_KINDS)
    assert.equal(CLI_MAX_QUERY_LIMIT, MAX_QUERY_LIMIT)
    assert.equal(queryOptions.limit.absent(), 20)
  })
})
