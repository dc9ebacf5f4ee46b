/** The chain chores, on the SDK's chainDeploy, chainMediatorRegister and LilyWallet. */
import { chainDeploy, chainMediatorRegister, LilyWallet, type ChainConnectOptions } from '../../../sdk/index.js'
import type { BalanceArgs, ConnectArgs, DeployArgs, DepositArgs, FundArgs, MediatorRegisterArgs, WithdrawArgs } from './options.js'

function connectOptions (args: ConnectArgs): ChainConnectOptions {
  return { profile: args.profile, rpcUrl: args.rpc, chainId: args.chainId, escrow: args.escrow, keyFile: args.key, dataDir: args.dataDir }
}

function print (args: ConnectArgs, result: Record<string, unknown>, human: string): number {
  if (args.json) {
    process.stdout.write(JSON.stringify(result, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v) + '\n')
  } else {
    process.stdout.write(human + '\n')
  }
  return 0
}

const unit = (token: string | null): string => token === null ? 'wei' : `units of ${token}`

export async function deploy (args: DeployArgs): Promise<number> {
  const r = await chainDeploy({
    ...connectOptions(args),
    token: args.token ?? null,
    challengeWindow: args.challengeWindow,
    mediationFee: args.mediationFee,
    minStake: args.minStake,
    mediatorTimeout: args.mediatorTimeout,
    unstakeDelay: args.unstakeDelay
  })
  return print(args, { ...r }, `LilyEscrow deployed at ${r.escrow} in block ${r.blockNumber} on chain ${r.chainId} (${r.token === null ? 'native ETH' : `token ${r.token}`}), tx ${r.hash}, ${r.gasUsed} gas\n` +
    `network profile: "escrow": "${r.escrow}", "escrowBlock": ${r.blockNumber}, "token": ${r.token === null ? 'null' : `"${r.token}"`}`)
}

export async function deposit (args: DepositArgs): Promise<number> {
  const r = await new LilyWallet(connectOptions(args)).deposit(args.amount)
  return print(args, { ...r }, `deposited ${r.amount} into ${r.escrow}; free balance of ${r.account}: ${r.escrowBalance} (tx ${r.hash})`)
}

export async function withdraw (args: WithdrawArgs): Promise<number> {
  const r = await new LilyWallet(connectOptions(args)).withdraw(args.amount)
  return print(args, { ...r }, `withdrew ${r.amount} from ${r.escrow}; free balance of ${r.account}: ${r.escrowBalance} (tx ${r.hash})`)
}

export async function balance (args: BalanceArgs): Promise<number> {
  const r = await new LilyWallet(connectOptions(args)).balance(args.account)
  return print(args, { ...r }, [
    `account ${r.account} at escrow ${r.escrow} (chain ${r.chainId})`,
    `  escrow (free)   ${r.escrowBalance} ${unit(r.token)}`,
    `  wallet          ${r.walletBalance} ${unit(r.token)}`,
    ...(r.token !== null ? [`  wallet ETH      ${r.nativeBalance} wei`] : []),
    `  mediator stake  ${r.mediator.stake}${r.mediator.listed ? ' (drawable)' : r.mediator.unlockAt > 0n ? ` (unlocks at ${r.mediator.unlockAt})` : ''}`
  ].join('\n'))
}

export async function mediatorRegister (args: MediatorRegisterArgs): Promise<number> {
  const r = await chainMediatorRegister({ ...connectOptions(args), amount: args.amount })
  return print(args, { ...r }, `${r.account} staked ${r.amount}; total stake ${r.mediator.stake}, drawable: ${String(r.mediator.listed)} (tx ${r.hash})`)
}

export async function fund (args: FundArgs): Promise<number> {
  const r = await new LilyWallet(connectOptions(args)).fund(args.amount, args.account)
  return print(args, { ...r }, `funded ${r.account} with ${r.amount} wei on the devnet (chain ${r.chainId}); wallet ${r.walletBalance} wei. Next: lilynode chain deposit --amount <wei> to move some into the escrow`)
}
