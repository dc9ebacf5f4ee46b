/**
 * `lilynode chain deploy|fund|deposit|withdraw|balance|mediator-register`: on-chain chores against any RPC
 * (fund: the devnet's faucet only).
 * deposit, withdraw and balance go through LilyWallet, the SDK's escrow account (LilyClient uses it too).
 */
import { defineCommand } from '../../command.js'
import { balanceOptions, deployOptions, depositOptions, fundOptions, mediatorRegisterOptions, withdrawOptions } from './options.js'

const handlers = async (): Promise<typeof import('./handler.js')> => await import('./handler.js')
const connect = '(--profile <p.json> | --rpc <url> --chain-id <id> --escrow <addr>) --key <key.json>'

export const chainCommand = defineCommand({
  name: 'chain',
  summary: 'on-chain chores: deploy the escrow, fund (devnet), deposit, withdraw, balance, mediator-register',
  usage: 'lilynode chain <deploy|fund|deposit|withdraw|balance|mediator-register> [options]',
  options: {},
  subcommands: [
    defineCommand({
      name: 'deploy',
      summary: 'deploy a LilyEscrow (native ETH, or --token for an ERC-20)',
      usage: 'lilynode chain deploy --rpc <url> --chain-id <id> --key <key.json> [--token <erc20>]',
      options: deployOptions,
      handler: async (args) => await (await handlers()).deploy(args)
    }),
    defineCommand({
      name: 'fund',
      summary: 'devnet faucet: add ETH to a wallet (anvil only; on a real chain, send it ETH)',
      usage: 'lilynode chain fund --amount <wei> [--account <addr>] (--profile <p.json> | --rpc <url> --chain-id <id>) [--key <key.json> | --data-dir <dir>]',
      options: fundOptions,
      handler: async (args) => await (await handlers()).fund(args)
    }),
    defineCommand({
      name: 'deposit',
      summary: 'deposit into your free escrow balance',
      usage: `lilynode chain deposit --amount <wei> ${connect}`,
      options: depositOptions,
      handler: async (args) => await (await handlers()).deposit(args)
    }),
    defineCommand({
      name: 'withdraw',
      summary: 'withdraw from your free escrow balance (default: all of it)',
      usage: `lilynode chain withdraw [--amount <wei>] ${connect}`,
      options: withdrawOptions,
      handler: async (args) => await (await handlers()).withdraw(args)
    }),
    defineCommand({
      name: 'balance',
      summary: 'show escrow, wallet and mediator-stake balances',
      usage: 'lilynode chain balance [--account <addr>] (--profile <p.json> | --rpc <url> --chain-id <id> --escrow <addr>) [--key <key.json>]',
      options: balanceOptions,
      handler: async (args) => await (await handlers()).balance(args)
    }),
    defineCommand({
      name: 'mediator-register',
      summary: 'stake and join the mediator draw',
      usage: `lilynode chain mediator-register --amount <wei> ${connect}`,
      options: mediatorRegisterOptions,
      handler: async (args) => await (await handlers()).mediatorRegister(args)
    })
  ]
})
