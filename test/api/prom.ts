/**
 * /metrics read with a Prometheus text-format parser (parse-prometheus-text-format, a port of
 * the Python client's parser): families by name, each once, with its HELP and TYPE.
 */
import parse from 'parse-prometheus-text-format'

export interface PromSample { labels: Record<string, string>, value: number }
export interface PromFamily { name: string, type: string, help: string, samples: PromSample[] }

// as Prometheus reads values (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan")
const NUMBER = /^(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?|[-+]?inf(?:inity)?|nan)$/i

/** Families by name; throws on a line the parser refuses, a value that is not a number, or a family written twice. */
export function parsePrometheus (text: string): Map<string, PromFamily> {
  const fams = new Map<string, PromFamily>()
  for (const f of parse(text)) {
    if (fams.has(f.name)) throw new Error(`family ${f.name} is written twice`)
    const samples = f.metrics.filter((m) => m.value !== undefined).map((m) => {
      if (!NUMBER.test(m.value ?? '')) throw new Error(`${f.name}: value ${JSON.stringify(m.value)} is not a number`)
      return { labels: m.labels ?? {}, value: /nan/i.test(m.value ?? '') ? NaN : Number(m.value?.replace(/inf(inity)?$/i, 'Infinity')) }
    })
    fams.set(f.name, { name: f.name, type: f.type, help: f.help, samples })
  }
  return fams
}

/** The value of one sample (undefined when absent). */
export function sampleValue (fams: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  return fams.get(name)?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value
}
