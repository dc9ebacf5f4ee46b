/**
 * `lilynode chain deploy|deposit|withdraw|balance|mediator-register`: on-chain chores against any RPC.
 * deposit, withdraw and balance go through LilyWallet, the SDK's escrow account (LilyClient uses it too).
 */
import { boolFlag, stringFlag } from '../../args.js'
import { CliError, type Command, type FlagSpec, type ParsedArgs } from '../../command.js'
import {
  chainDeploy, chainMediatorRegister, parseAddress, parseAmount,
  type ChainConnectOptions
} from '../../../sdk/index.js'
import { LilyWallet } from '../../../sdk/index.js'

const CONNECT_FLAGS: FlagSpec[] = [
  { name: 'profile', type: 'string', description: 'network profile JSON (rpcUrl, chainId, escrow)' },
  { name: 'rpc', type: 'string', description: 'RPC URL, e.g. https://sepolia-rollup.arbitrum.io/rpc (overrides the profile)' },
  { name: 'chain-id', type: 'string', description: 'chain id the RPC must serve (overrides the profile)' },
  { name: 'escrow', type: 'string', description: 'LilyEscrow address (overrides the profile)' },
  { name: 'key', type: 'string', description: 'key file (key.json or a V3 keystore; password in LILYNODE_KEY_PASSWORD)' },
  { name: 'data-dir', type: 'string', description: 'node data dir whose key.json to use when --key is not given' },
  { name: 'json', type: 'boolean', description: 'print one JSON object' }
]

function connectOptions (args: ParsedArgs): ChainConnectOptions {
  const chainId = stringFlag(args, 'chain-id')
  if (chainId !== undefined && !/^[0-9]{1,15}$/.test(chainId)) throw new CliError(`--chain-id must be a positive integer, got '${chainId}'`)
  const escrow = stringFlag(args, 'escrow')
  return {
    profile: stringFlag(args, 'profile'),
    rpcUrl: stringFlag(args, 'rpc'),
    chainId: chainId === undefined ? undefined : BigInt(chainId),
    escrow: escrow === undefined ? undefined : parseAddress('escrow', escrow),
    keyFile: stringFlag(args, 'key'),
    dataDir: stringFlag(args, 'data-dir')
  }
}

function noPositionals (args: ParsedArgs, name: string): void {
  if (args.positionals.length > 0) throw new CliError(`lilynode chain ${name} takes no arguments, got '${args.positionals[0]}'`)
}

function print (args: ParsedArgs, result: Record<string, unknown>, human: string): void {
  if (boolFlag(args, 'json')) {
    process.stdout.write(JSON.stringify(result, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v) + '\n')
  } else {
    process.stdout.write(human + '\n')
  }
}

const unit = (token: string | null): string => token === null ? 'wei' : `units of ${token}`

const deployCommand: Command = {
  name: 'deploy',
  summary: 'deploy a LilyEscrow (native ETH, or --token for an ERC-20)',
  usage: 'lilynode chain deploy --rpc <url> --chain-id <id> --key <key.json> [--token <erc20>]',
  flags: [
    ...CONNECT_FLAGS,
    { name: 'token', type: 'string', description: 'ERC-20 settlement token (default: native ETH)' },
    { name: 'challenge-window', type: 'string', description: 'seconds to challenge a submitted result', default: '3600' },
    { name: 'mediation-fee', type: 'string', description: 'fee a challenger pays the mediator, in wei', default: '1000000000000000' },
    { name: 'min-stake', type: 'string', description: 'least mediator stake, in wei', default: '10000000000000000' },
    { name: 'mediator-timeout', type: 'string', description: 'seconds a drawn mediator has to rule', default: '86400' },
    { name: 'unstake-delay', type: 'string', description: 'seconds from unregistering to withdrawing a stake', default: '604800' }
  ],
  run: async (args) => {
    noPositionals(args, 'deploy')
    const token = stringFlag(args, 'token')
    const r = await chainDeploy({
      ...connectOptions(args),
      token: token === undefined ? null : parseAddress('token', token),
      challengeWindow: parseAmount('challenge-window', stringFlag(args, 'challenge-window', true)),
      mediationFee: parseAmount('mediation-fee', stringFlag(args, 'mediation-fee', true), true),
      minStake: parseAmount('min-stake', stringFlag(args, 'min-stake', true)),
      mediatorTimeout: parseAmount('mediator-timeout', stringFlag(args, 'mediator-timeout', true)),
      unstakeDelay: parseAmount('unstake-delay', stringFlag(args, 'unstake-delay', true))
    })
    print(args, { ...r }, `LilyEscrow deployed at ${r.escrow} in block ${r.blockNumber} on chain ${r.chainId} (${r.token === null ? 'native ETH' : `token ${r.token}`}), tx ${r.hash}, ${r.gasUsed} gas\n` +
      `network profile: "escrow": "${r.escrow}", "escrowBlock": ${r.blockNumber}, "token": ${r.token === null ? 'null' : `"${r.token}"`}`)
    return 0
  }
}

const depositCommand: Command = {
  name: 'deposit',
  summary: 'deposit into your free escrow balance',
  usage: 'lilynode chain deposit --amount <wei> (--profile <p.json> | --rpc <url> --chain-id <id> --escrow <addr>) --key <key.json>',
  flags: [...CONNECT_FLAGS, { name: 'amount', type: 'string', description: 'amount in wei (or token units)' }],
  run: async (args) => {
    noPositionals(args, 'deposit')
    const r = await new LilyWallet(connectOptions(args)).deposit(parseAmount('amount', stringFlag(args, 'amount', true)))
    print(args, { ...r }, `deposited ${r.amount} into ${r.escrow}; free balance of ${r.account}: ${r.escrowBalance} (tx ${r.hash})`)
    return 0
  }
}

const withdrawCommand: Command = {
  name: 'withdraw',
  summary: 'withdraw from your free escrow balance (default: all of it)',
  usage: 'lilynode chain withdraw [--amount <wei>] (--profile <p.json> | --rpc <url> --chain-id <id> --escrow <addr>) --key <key.json>',
  flags: [...CONNECT_FLAGS, { name: 'amount', type: 'string', description: 'amount in wei (default: the whole free balance)' }],
  run: async (args) => {
    noPositionals(args, 'withdraw')
    const amount = stringFlag(args, 'amount')
    const r = await new LilyWallet(connectOptions(args)).withdraw(amount === undefined ? undefined : parseAmount('amount', amount))
    print(args, { ...r }, `withdrew ${r.amount} from ${r.escrow}; free balance of ${r.account}: ${r.escrowBalance} (tx ${r.hash})`)
    return 0
  }
}

const balanceCommand: Command = {
  name: 'balance',
  summary: 'show escrow, wallet and mediator-stake balances',
  usage: 'lilynode chain balance [--account <addr>] (--profile <p.json> | --rpc <url> --chain-id <id> --escrow <addr>) [--key <key.json>]',
  flags: [...CONNECT_FLAGS, { name: 'account', type: 'string', description: 'whose balances (default: the key\'s address)' }],
  run: async (args) => {
    noPositionals(args, 'balance')
    const account = stringFlag(args, 'account')
    const r = await new LilyWallet(connectOptions(args)).balance(account === undefined ? undefined : parseAddress('account', account))
    print(args, { ...r }, [
      `account ${r.account} at escrow ${r.escrow} (chain ${r.chainId})`,
      `  escrow (free)   ${r.escrowBalance} ${unit(r.token)}`,
      `  wallet          ${r.walletBalance} ${unit(r.token)}`,
      ...(r.token !== null ? [`  wallet ETH      ${r.nativeBalance} wei`] : []),
      `  mediator stake  ${r.mediator.stake}${r.mediator.listed ? ' (drawable)' : r.mediator.unlockAt > 0n ? ` (unlocks at ${r.mediator.unlockAt})` : ''}`
    ].join('\n'))
    return 0
  }
}

const mediatorRegisterCommand: Command = {
  name: 'mediator-register',
  summary: 'stake and join the mediator draw',
  usage: 'lilynode chain mediator-register --amount <wei> (--profile <p.json> | --rpc <url> --chain-id <id> --escrow <addr>) --key <key.json>',
  flags: [...CONNECT_FLAGS, { name: 'amount', type: 'string', description: 'stake to add, in wei (total ≥ the escrow\'s minStake)' }],
  run: async (args) => {
    noPositionals(args, 'mediator-register')
    const r = await chainMediatorRegister({ ...connectOptions(args), amount: parseAmount('amount', stringFlag(args, 'amount', true)) })
    print(args, { ...r }, `${r.account} staked ${r.amount}; total stake ${r.mediator.stake}, drawable: ${String(r.mediator.listed)} (tx ${r.hash})`)
    return 0
  }
}

export const chainCommand: Command = {
  name: 'chain',
  summary: 'on-chain chores: deploy the escrow, deposit, withdraw, balance, mediator-register',
  usage: 'lilynode chain <deploy|deposit|withdraw|balance|mediator-register> [options]',
  flags: [],
  subcommands: [deployCommand, depositCommand, withdrawCommand, balanceCommand, mediatorRegisterCommand]
}

export default chainCommand
