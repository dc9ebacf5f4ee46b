import { dataDirOption, jsonOption } from '../../sharedOptions.js'
import type { Values } from '../../typedOptions.js'

export const describeOptions = {
  'data-dir': dataDirOption('creator', 'the data dir that ran the job'),
  json: jsonOption('the job record and its deals as one JSON object (wei as decimal strings)')
}

export type DescribeArgs = Values<typeof describeOptions>
