import assert from 'node:assert/strict'
import { printer } from '../../src/cli/output.js'
import { DEAL_GAS, providerSummary } from '../../src/cli/cmds/provider/summary.js'

const PRICES = { priceCpu: 1000n, priceRam: 100n, priceGpu: 1_000_000n, priceDisk: 0n }
const RES = { cpu: 8000, ram: 16384, gpus: 0, gpuVram: 0, gpuModel: '', disk: 50_000 }

describe('cli: what a provider prints', () => {
  it('says what it sells, its prices per unit, an example job\'s pay, and warns when that does not cover a deal\'s gas', () => {
    const s = providerSummary(RES, PRICES, 10n ** 15n, 2_000_000_000n)
    assert.equal(s.exampleJob.price, '66144000')
    assert.equal(s.gasCost, String(2_000_000_000n * DEAL_GAS))
    assert.match(String(s.warning), /the example job pays as little as 66,144,000 wei, less than the 203,934,000,000,000 wei of gas its two transactions cost: raise the prices \(3,083,183× --price-cpu\/--price-ram\)/)
    let text = ''
    printer(false, (x) => { text += x })({ ...s })
    assert.equal(text.split('\n')[0], 'selling: 8000 millicores, 16384 MiB of memory, 0 GPUs, 50000 MiB of disk')
    assert.match(text, /prices: CPU 1,000 wei per millicore-second \(3\.6 gwei per core-hour\); memory 100 wei per MiB-second \(0\.36864 gwei per GiB-hour\)/)
    assert.match(text, /GPU 1,000,000 wei per GPU-second \(3\.6 gwei per GPU-hour\)/)
    assert.match(text, /example job \(1000 millicores, 1024 MiB, 60 s\) pays at least 66,144,000 wei \(0\.066144 gwei\) \(the ask; a deal pays the midpoint of the ask and the job's max price\)/)
    assert.match(text, /\n {2}WARNING: the example job pays as little as/)
    // prices that cover the gas: no warning; a GPU offer prices its example job with one GPU
    const rich = providerSummary({ ...RES, gpus: 2, gpuVram: 16384, gpuModel: 'NVIDIA T4' }, { ...PRICES, priceCpu: 10n ** 10n }, 0n, 2_000_000_000n)
    assert.equal(rich.warning, undefined)
    assert.equal(rich.exampleJob.gpus, 1)
    assert.match(rich.lines[0], /2 GPUs \(NVIDIA T4, 16384 MiB each\)/)
    // an RPC that does not answer: no gas figure, no warning
    const none = providerSummary(RES, PRICES, 0n, null)
    assert.equal(none.gasPrice, null)
    assert.match(none.lines.join('\n'), /the RPC gave no gas price/)
  })

  it('names the module on job lines once it is known', () => {
    let text = ''
    const print = printer(false, (x) => { text += x })
    print({ event: 'deal', dealId: '0x1234567890abcdef', state: 'matched', at: 0, message: 'price 5 wei' })
    print({ event: 'deal', dealId: '0x1234567890abcdef', state: 'running', at: 0, module: 'cowsay:v0.0.4', message: 'module and inputs verified; running' })
    const [a, b] = text.trim().split('\n')
    assert.equal(a, '00:00:00.000 0x12345678 matched    price 5 wei')
    assert.equal(b, '00:00:00.000 0x12345678 running    cowsay:v0.0.4 module and inputs verified; running')
  })
})
