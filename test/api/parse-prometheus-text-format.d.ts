declare module 'parse-prometheus-text-format' {
  interface Sample { labels?: Record<string, string>, value?: string, buckets?: Record<string, string>, count?: string, sum?: string }
  interface Family { name: string, help: string, type: string, metrics: Sample[] }
  /** Throws InvalidLineError on a line that is not a sample, a comment or blank. */
  export default function parsePrometheusTextFormat (text: string): Family[]
}
