import { dataDirOption, jsonOption } from '../../sharedOptions.js'
import { flag, int, pairs, str, wei, type Values } from '../../typedOptions.js'
import { DEFAULT_COLLATERAL, DEFAULT_MAX_PRICE, DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S } from '../../../protocol/constants.js'

export const requestOptions = {
  profile: str({ description: 'network profile JSON naming a LilyRequests contract ("requests")', placeholder: 'profile.json', required: true }),
  'data-dir': dataDirOption('creator', 'the account\'s key'),
  input: pairs({ short: 'i', description: 'job input KEY=VALUE; each input once' }),
  'inputs-dir': str({ description: 'write the encoded inputs here for a relay to serve (its <data-dir>/request-inputs); not needed for default inputs', placeholder: 'dir' }),
  'max-price': wei({ description: 'paid now, in wei; what the deal does not use is credited back', default: DEFAULT_MAX_PRICE }),
  collateral: wei({ description: 'collateral the provider must put up, in wei', default: DEFAULT_COLLATERAL }),
  timeout: int({ description: 'seconds the provider has to deliver', placeholder: 's', min: 1, max: MAX_TIMEOUT_S, default: DEFAULT_TIMEOUT_S }),
  deadline: int({ description: 'seconds from now until an unserved request is refundable', placeholder: 's', min: 1, max: 365 * 24 * 3600, default: 120 }),
  'no-wait': flag({ description: 'return once requested' }),
  json: jsonOption()
}

export type RequestArgs = Values<typeof requestOptions>
