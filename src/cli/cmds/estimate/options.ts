import { jsonOption } from '../../sharedOptions.js'
import { int, pairs, str, wei, type Values } from '../../typedOptions.js'
import { MAX_TIMEOUT_S } from '../run/options.js'

export const estimateOptions = {
  input: pairs({ short: 'i', description: 'job input KEY=VALUE (file inputs: a path); each input once' }),
  profile: str({ description: 'network profile JSON: its bootstrap nodes are asked for their offers', placeholder: 'profile.json' }),
  node: str({ description: 'ask this node instead (its multiaddr with /p2p/<peer id>)', placeholder: 'multiaddr' }),
  'max-price': wei({ description: 'most you would pay for the job, in wei', default: 10n ** 15n }),
  collateral: wei({ description: 'collateral the provider must put up, in wei', default: 10n ** 14n }),
  timeout: int({ description: 'seconds the provider has to deliver (default: the module\'s timeoutS, else 60)', placeholder: 's', min: 1, max: MAX_TIMEOUT_S }),
  gpus: int({ description: 'GPUs the job needs (default: the module\'s resources.gpus)', min: 0, max: 64 }),
  'gpu-vram': int({ description: 'least memory per GPU in MiB (default: the module\'s resources.gpuVram; needs --gpus or a GPU module)', placeholder: 'MiB', min: 0, max: 1_048_576 }),
  json: jsonOption('print the estimate as one JSON object')
}

export type EstimateArgs = Values<typeof estimateOptions>
