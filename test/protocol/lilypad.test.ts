import assert from 'node:assert/strict'
import { ProtocolError } from '../../src/protocol/errors.js'
import {
  executeTemplate, goJsonString, jsEscape, parseLilypadModule, parseTemplate, renderLilypadModule, MAX_TEMPLATE_OUTPUT_BYTES
} from '../../src/protocol/lilypad/index.js'
import { moduleHash, parseModuleSpec } from '../../src/protocol/module.js'

const run = (src: string, data: Record<string, string> = {}): string => executeTemplate(parseTemplate(src), data)

function refused (fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL_BAD_MODULE' && re.test(e.message), `expected PROTOCOL_BAD_MODULE matching ${String(re)}`)
}

// Lilypad's own cowsay module template (lilypad-module-cowsay), as published.
const COWSAY = `{
  "machine": {
    "gpu": 0,
    "cpu": 1000,
    "ram": 100
  },
  "inputFiles": {
    "required": ["cat.jpg"],
    "optional": ["cat_facts.txt"]
  },
  "job": {
    "APIVersion": "V1beta1",
    "Spec": {
      "Deal": {
        "Concurrency": 1
      },
      "Docker": {
        "Entrypoint": [
          "/usr/local/bin/cowsay",
          {{if .Message}}{{.Message}}{{else}}"Pass me an input called Message, like lilypad run cowsay:<tag> -i Message=moo"{{end}}
        ],
        "Image": "richbrem/cowsay:latest"
      },
      "Engine": "Docker",
      "Network": {
        "Type": "None"
      },
      "PublisherSpec": {
        "Type": "IPFS"
      },
      "Resources": {
        "GPU": ""
      },
      "Timeout": 1800,
      "Verifier": "Noop"
    }
  }
}
`

// The EngineSpec form (as in Lilypad's sdxl/ollama pipeline modules), with or, js and a trim marker.
const ENGINE = `{
  "machine": { "gpu": 1, "cpu": 2000, "ram": 8000 },
  "job": {
    "APIVersion": "V1beta1",
    "Metadata": { "CreatedAt": "0001-01-01T00:00:00Z", "Requester": {} },
    "Spec": {
      "Deal": { "Concurrency": 1 },
      "Docker": {},
      "EngineSpec": {
        "Params": {
          "Entrypoint": null,
          "EnvironmentVariables": [
            {{ if .Prompt }}"{{ subst "PROMPT=%s" .Prompt }}",{{ end }}
            "STEPS={{ js (or .Steps "\\"20\\"") }}",
            {{- /* a comment */ -}}
            "HF_HUB_OFFLINE=1"
          ],
          "Image": "zorlin/sdxl:v1.0-refiner-lilypad4",
          "Parameters": [{{ or .Size "\\"1024\\"" }}],
          "WorkingDirectory": ""
        },
        "Type": "docker"
      },
      "Network": { "Type": "None" },
      "Outputs": [{ "Name": "outputs", "Path": "/outputs/" }],
      "PublisherSpec": { "Type": "ipfs" },
      "Resources": { "GPU": "1" },
      "Timeout": 1800,
      "Wasm": { "EntryModule": {} }
    }
  }
}
`

describe('protocol: Lilypad modules (Go text/template subset)', () => {
  it('follows Go\'s truth: a missing key is false and prints <no value>; a given string is true when non-empty', () => {
    assert.equal(run('{{if .X}}yes{{else}}no{{end}}'), 'no')
    assert.equal(run('{{if .X}}yes{{else}}no{{end}}', { X: 'a' }), 'yes')
    assert.equal(run('{{if .X}}yes{{else}}no{{end}}', { X: '' }), 'no')
    assert.equal(run('[{{.X}}]'), '[<no value>]')
    assert.equal(run('{{if not .X}}none{{end}}'), 'none')
    assert.equal(run('{{if eq .X "a" "b"}}ab{{else if .Y}}y{{else}}other{{end}}', { X: 'b' }), 'ab')
    assert.equal(run('{{if eq .X "a" "b"}}ab{{else if .Y}}y{{else}}other{{end}}', { X: 'c', Y: '1' }), 'y')
    assert.equal(run('{{with .X}}<{{.}}>{{else}}empty{{end}}', { X: 'v' }), '<v>')
    assert.equal(run('{{len .X}}', { X: 'é' }), '2', 'len counts bytes, as in Go')
  })

  it('or and and return an argument, short-circuiting as Go ≥ 1.18 does', () => {
    assert.equal(run('{{ or .X "default" }}'), 'default')
    assert.equal(run('{{ or .X "default" }}', { X: 'given' }), 'given')
    assert.equal(run('{{ or .X .Y "last" }}', { Y: 'y' }), 'y')
    assert.equal(run('{{ and .X .Y }}', { X: 'x', Y: 'y' }), 'y')
    assert.equal(run('{{ and .X .Y }}', { Y: 'y' }), '<no value>')
    // short-circuit: the failing .X.Z is never evaluated
    assert.equal(run('{{ or "a" .X.Z }}', { X: 'x' }), 'a')
    refused(() => run('{{ or "" .X.Z }}', { X: 'x' }), /can't evaluate field Z/)
  })

  it('escapes as Go\'s JSEscapeString, and pipes the value as the last argument', () => {
    assert.equal(jsEscape(`a'b"c\\d<e>f&g=h\ni\u0001 é😀\u00a0\u2028`), `a\\'b\\"c\\\\d\\u003Ce\\u003Ef\\u0026g\\u003Dh\\u000Ai\\u0001 é😀\\u00A0\\u2028`)
    assert.equal(run('{{ .X | js }}', { X: '<b>' }), '\\u003Cb\\u003E')
    assert.equal(run('{{ js .X }}', { X: 'it\'s' }), "it\\'s")
    assert.equal(run('{{ print "a" 1 2 "b" }}'), 'a1 2b')
    assert.equal(run('{{ html .X }}', { X: '<a href="x">' }), '&lt;a href=&#34;x&#34;&gt;')
    assert.equal(run('{{ urlquery .X }}', { X: 'a b&c' }), 'a+b%26c')
  })

  it('trims whitespace at {{- and -}} and drops comments', () => {
    assert.equal(run('a  \n {{- "b" -}}  \n c'), 'abc')
    assert.equal(run('a {{/* note */}}b'), 'a b')
    assert.equal(run('{{-3}}'), '-3', '{{-3}} is the number -3, not a trim marker')
  })

  it('refuses what it does not implement, and malformed templates, with the position', () => {
    refused(() => parseTemplate('{{range .X}}{{end}}'), /not supported/)
    refused(() => parseTemplate('{{ printf "%d" 1 }}'), /unknown function "printf"/)
    refused(() => parseTemplate('{{if .X}}open'), /missing \{\{end\}\}/)
    refused(() => parseTemplate('{{end}}'), /unexpected \{\{end\}\}/)
    refused(() => parseTemplate('{{ "unterminated }}'), /unterminated|unclosed/)
    refused(() => parseTemplate('{{ .X .Y }}'), /cannot take arguments/)
    refused(() => parseTemplate('{{'.repeat(3) + 'x'), /unclosed|unexpected/)
    refused(() => run('{{ . }}', { X: '1' }), /whole input map/)
  })

  it('bounds nesting, template size and output', () => {
    refused(() => parseTemplate('{{if .X}}'.repeat(40) + '{{end}}'.repeat(40)), /nested deeper/)
    refused(() => parseTemplate('x'.repeat(65 * 1024)), /larger than/)
    const big = 'y'.repeat(60 * 1024)
    refused(() => run('{{.X}}{{.X}}{{.X}}{{.X}}{{.X}}', { X: big }), new RegExp(`output larger than ${MAX_TEMPLATE_OUTPUT_BYTES}`))
  })

  it('JSON-encodes inputs as Go\'s json.Marshal before templating, as Lilypad does', () => {
    assert.equal(goJsonString('a"b\\c\n<&>\u2028\u0001'), '"a\\"b\\\\c\\n\\u003c\\u0026\\u003e\\u2028\\u0001"')
  })

  it('renders Lilypad\'s cowsay template into a module spec', () => {
    const m = parseLilypadModule(COWSAY, 'cowsay', 'v0.0.4')
    const spec = renderLilypadModule(m, { Message: 'moo' })
    assert.deepEqual(spec.entrypoint, ['/usr/local/bin/cowsay', 'moo'])
    assert.deepEqual(spec.cmd, [])
    assert.equal(spec.image, 'richbrem/cowsay:latest')
    assert.deepEqual(spec.resources, { cpu: 1000, ram: 100, gpus: 0, gpuVram: 0, disk: 0 })
    assert.equal(spec.network, false)
    assert.equal(spec.timeoutS, 1800)
    assert.deepEqual(spec.inputs, {})
    assert.equal(moduleHash(spec), moduleHash(parseModuleSpec(spec)), 'the rendered spec is a normal, canonical spec')
    assert.deepEqual(renderLilypadModule(m, {}).entrypoint?.[1], 'Pass me an input called Message, like lilypad run cowsay:<tag> -i Message=moo')
    assert.notEqual(moduleHash(renderLilypadModule(m, { Message: 'a' })), moduleHash(renderLilypadModule(m, { Message: 'b' })), 'the inputs are part of the spec (and its hash)')
  })

  it('renders the EngineSpec form: or, js, subst, trim, comments, GPU, outputs path', () => {
    const m = parseLilypadModule(ENGINE, 'sdxl', 'v1')
    const spec = renderLilypadModule(m, { Prompt: 'a cat', Steps: '30' })
    assert.deepEqual(spec.env, { HF_HUB_OFFLINE: '1', PROMPT: 'a cat', STEPS: '"30"' })
    assert.equal(spec.entrypoint, undefined, 'Entrypoint null keeps the image\'s')
    assert.deepEqual(spec.cmd, ['1024'])
    assert.equal(spec.resources.gpus, 1)
    assert.equal(spec.outputPath, '/outputs')
    const plain = renderLilypadModule(m, {})
    assert.deepEqual(plain.env, { HF_HUB_OFFLINE: '1', STEPS: '"20"' })
    assert.deepEqual(renderLilypadModule(m, { Size: '512' }).cmd, ['512'])
  })

  it('hostile input values never add an argv element, variable, image, mount or network', () => {
    const m = parseLilypadModule(COWSAY, 'cowsay', 'v0.0.4')
    const hostile = [
      'moo", "--evil',
      'moo"], "Image": "evil/image:1", "x": ["',
      '\\", \\"x',
      'line\nbreak',
      '</script><b>&amp;',
      '{{ .Other }}',
      '$(rm -rf /); `id`',
      '\u2028\u2029\u0000'.replace('\u0000', '')
    ]
    for (const v of hostile) {
      const spec = renderLilypadModule(m, { Message: v })
      assert.deepEqual(spec.entrypoint, ['/usr/local/bin/cowsay', v], `value ${JSON.stringify(v)} stays one argv element`)
      assert.equal(spec.image, 'richbrem/cowsay:latest')
      assert.equal(spec.network, false)
    }
    // a value placed inside a JSON string with subst stays inside it
    const e = parseLilypadModule(ENGINE, 'sdxl', 'v1')
    const spec = renderLilypadModule(e, { Prompt: 'x", "EVIL=1", "Y=' })
    assert.deepEqual(Object.keys(spec.env).sort(), ['HF_HUB_OFFLINE', 'PROMPT', 'STEPS'])
    assert.equal(spec.env.PROMPT, 'x", "EVIL=1", "Y=')
    // a template that puts a value unquoted inside a string breaks the JSON: refused, never injected
    const inside = parseLilypadModule(COWSAY.replace('{{.Message}}', '"say {{.Message}}"'), 'cowsay', 'v0.0.4')
    refused(() => renderLilypadModule(inside, { Message: 'moo' }), /not JSON/)
    // js inside a JSON string: a quote stays escaped; an apostrophe makes invalid JSON (refused)
    const js = parseLilypadModule(COWSAY.replace('{{.Message}}', '"{{ js .Message }}"'), 'cowsay', 'v0.0.4')
    assert.deepEqual(renderLilypadModule(js, { Message: 'a"b' }).entrypoint?.[1], '"a\\"b"')
    refused(() => renderLilypadModule(js, { Message: "it's" }), /not JSON/)
  })

  it('refuses inputs and rendered jobs it cannot honour', () => {
    const m = parseLilypadModule(COWSAY, 'cowsay', 'v0.0.4')
    refused(() => renderLilypadModule(m, { 'bad-key': 'x' }), /input name/)
    refused(() => renderLilypadModule(m, { Message: 'a\u0000' }), /NUL/)
    refused(() => renderLilypadModule(m, { Message: '\ud800' }), /lone surrogate/)
    refused(() => renderLilypadModule(m, { Message: 'x'.repeat(70 * 1024) }), /longer than/)
    const withInputs = parseLilypadModule(COWSAY.replace('"Engine": "Docker",', '"Engine": "Docker", "Inputs": [{"StorageSource": "URLDownload", "URL": "http://x"}],'), 'c', 'v1')
    refused(() => renderLilypadModule(withInputs, {}), /Inputs is not supported/)
    const wasm = parseLilypadModule(COWSAY.replace('"Engine": "Docker"', '"Engine": "Wasm"'), 'c', 'v1')
    refused(() => renderLilypadModule(wasm, {}), /Engine Wasm/)
    const untagged = parseLilypadModule(COWSAY.replace('richbrem/cowsay:latest', 'richbrem/cowsay'), 'c', 'v1')
    refused(() => renderLilypadModule(untagged, {}), /tag or a digest/)
    const net = parseLilypadModule(COWSAY.replace('"Type": "None"', '"Type": "Full"'), 'c', 'v1')
    assert.equal(renderLilypadModule(net, {}).network, true, 'the module asks for network (the provider must still allow it)')
    const env = parseLilypadModule(COWSAY.replace('"Image"', '"EnvironmentVariables": ["NOEQUALS"], "Image"'), 'c', 'v1')
    refused(() => renderLilypadModule(env, {}), /NAME=value/)
  })
})
