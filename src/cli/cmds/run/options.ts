import { dataDirOption, jsonOption, listenOption, profileOption } from '../../sharedOptions.js'
import { flag, int, pairs, str, wei, type Values } from '../../typedOptions.js'
import { DEFAULT_COLLATERAL, DEFAULT_MAX_PRICE, MAX_TIMEOUT_S } from '../../../protocol/constants.js'

/** Seven days: the executor's limit on a job's run time. */
export { MAX_TIMEOUT_S }

export const runOptions = {
  input: pairs({ short: 'i', description: 'job input KEY=VALUE (file inputs: a path); each input once' }),
  profile: profileOption,
  'data-dir': dataDirOption('creator', 'the creator\'s key and database'),
  out: str({ description: 'write stdout, stderr and the output files here', placeholder: 'dir' }),
  'max-price': wei({ description: 'most you pay for the job, in wei', default: DEFAULT_MAX_PRICE }),
  collateral: wei({ description: 'collateral the provider must put up, in wei', default: DEFAULT_COLLATERAL }),
  timeout: int({ description: 'seconds the provider has to deliver (default: the module\'s timeoutS, else 60)', placeholder: 's', min: 1, max: MAX_TIMEOUT_S }),
  gpus: int({ description: 'GPUs the job needs (default: the module\'s resources.gpus)', min: 0, max: 64 }),
  'gpu-vram': int({ description: 'least memory per GPU in MiB (default: the module\'s resources.gpuVram; needs --gpus or a GPU module)', placeholder: 'MiB', min: 0, max: 1_048_576 }),
  'challenge-on-failure': flag({ description: 'challenge a result whose job exits non-zero (spends the mediation fee, said before it is spent); by default it is accepted as the answer, its stderr in --out' }),
  listen: listenOption,
  'dry-run': flag({ description: 'publish nothing: list the live offers the job fits, what each would charge and why the others do not (as lilynode estimate)' }),
  json: jsonOption('one JSON event per line, with timestamps')
}

export type RunArgs = Values<typeof runOptions>
