import { jsonOption } from '../../sharedOptions.js'
import { big, hex, str, U256_MAX, type Opt, type Values } from '../../typedOptions.js'
import { DEFAULT_MEDIATION_FEE } from '../../../protocol/constants.js'

/** How every chain chore finds the chain, the escrow and the key. */
export const connectOptions = {
  profile: str({ description: 'network profile JSON (rpcUrl, chainId, escrow)', placeholder: 'profile.json' }),
  rpc: str({ description: 'RPC URL, e.g. https://sepolia-rollup.arbitrum.io/rpc (overrides the profile)', placeholder: 'url', pattern: /^(https?|wss?):\/\/\S+$/, hint: 'an http(s) or ws(s) URL' }),
  'chain-id': big({ description: 'chain id the RPC must serve (overrides the profile)', placeholder: 'id', unit: 'chain id', min: 1n, max: 999_999_999_999_999n }),
  escrow: hex({ bytes: 20, what: 'the LilyEscrow address', description: 'LilyEscrow address (overrides the profile)' }),
  key: str({ description: 'key file (key.json or a V3 keystore; password in LILYNODE_KEY_PASSWORD)', placeholder: 'file' }),
  'data-dir': str({ description: 'node data dir whose key.json to use when --key is not given', placeholder: 'dir' }),
  json: jsonOption('print one JSON object')
}

const amount = (description: string): Opt<bigint> => big({ description, min: 1n, max: U256_MAX, required: true })

export const deployOptions = {
  ...connectOptions,
  token: hex({ bytes: 20, what: 'an ERC-20 token address', description: 'ERC-20 settlement token (default: native ETH)' }),
  'challenge-window': big({ description: 'seconds to challenge a submitted result', placeholder: 's', unit: 'seconds', min: 1n, max: U256_MAX, default: 3600n }),
  'mediation-fee': big({ description: 'fee a challenger pays the mediator, in wei', max: U256_MAX, default: DEFAULT_MEDIATION_FEE }),
  'min-stake': big({ description: 'least mediator stake, in wei', min: 1n, max: U256_MAX, default: 10n ** 16n }),
  'mediator-timeout': big({ description: 'seconds a drawn mediator has to rule', placeholder: 's', unit: 'seconds', min: 1n, max: U256_MAX, default: 86_400n }),
  'unstake-delay': big({ description: 'seconds from unregistering to withdrawing a stake', placeholder: 's', unit: 'seconds', min: 1n, max: U256_MAX, default: 604_800n })
}

export const depositOptions = { ...connectOptions, amount: amount('amount in wei (or token units)') }
export const withdrawOptions = { ...connectOptions, amount: big({ description: 'amount in wei (default: the whole free balance)', min: 1n, max: U256_MAX }) }
export const balanceOptions = { ...connectOptions, account: hex({ bytes: 20, what: 'an account address', description: 'whose balances (default: the key\'s address)' }) }
export const fundOptions = { ...connectOptions, amount: big({ description: 'wei to add to the wallet', min: 1n, max: 10n ** 30n, required: true }), account: hex({ bytes: 20, what: 'an account address', description: 'whose wallet (default: the key\'s address)' }) }
export const mediatorRegisterOptions = { ...connectOptions, amount: amount('stake to add, in wei (total ≥ the escrow\'s minStake)') }

export type ConnectArgs = Values<typeof connectOptions>
export type DeployArgs = Values<typeof deployOptions>
export type DepositArgs = Values<typeof depositOptions>
export type WithdrawArgs = Values<typeof withdrawOptions>
export type BalanceArgs = Values<typeof balanceOptions>
export type FundArgs = Values<typeof fundOptions>
export type MediatorRegisterArgs = Values<typeof mediatorRegisterOptions>
