/**
 * `lilynode module init|build|check <dir>`: writing a module. `init` lays out a new module
 * folder (spec, Dockerfile, program), `build` builds its image with no registry (as
 * `npm run images` does for modules/, for any folder), `check` validates the spec (or renders a
 * Lilypad template with sample inputs) and says what offers will name: the module hash, the
 * image and whether this machine has it, the verification kind.
 */
import { spawn } from 'node:child_process'
import { mkdir, writeFile, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { CliError, type HandlerContext } from '../../command.js'
import { exampleModulesDir, findModule, jobSpec, moduleNameOf, newDocker } from '../../../executor/index.js'
import { moduleHash, parseImageRef, serializeModuleSpec, verificationOf, type ModuleSpec } from '../../../protocol/index.js'
import type { BuildArgs, CheckArgs, InitArgs, InitKind } from './options.js'


async function exists (p: string): Promise<boolean> {
  return await stat(p).then(() => true, () => false)
}

function initFiles (kind: InitKind, name: string): Record<string, string> {
  if (kind === 'lilypad') {
    return {
      'lilypad_module.json.tmpl': `{
  "machine": { "gpu": 0, "cpu": 1000, "ram": 256 },
  "job": {
    "APIVersion": "V1beta1",
    "Spec": {
      "Deal": { "Concurrency": 1 },
      "Docker": {
        "Entrypoint": ["/bin/sh", "/app/run.sh", {{ if .Message }}{{ .Message }}{{ else }}"hello"{{ end }}],
        "Image": "lilynode/${name}:v0.1.0"
      },
      "Engine": "Docker",
      "Network": { "Type": "None" },
      "Outputs": [{ "Name": "outputs", "Path": "/outputs" }],
      "Resources": { "GPU": "" },
      "Timeout": 60,
      "Verifier": "Noop"
    }
  }
}
`,
      'module.image': `lilynode/${name}:v0.1.0\n`,
      Dockerfile: '# Built by `lilynode module build`: the context holds bin/ (static busybox) and app/.\nFROM scratch\nCOPY bin/ /bin/\nCOPY app/ /app/\n',
      'run.sh': '#!/bin/sh\n# run.sh MESSAGE: writes the message to /outputs/message.txt and stdout.\nset -e\nprintf \'%s\\n\' "$1" | tee /outputs/message.txt\n'
    }
  }
  const python = kind === 'python'
  const spec = {
    name,
    version: 'v0.1.0',
    description: `${name}: describe what it computes`,
    image: `lilynode/${name}:v0.1.0`,
    entrypoint: python ? ['python3', '/app/main.py'] : ['/bin/sh', '/app/main.sh'],
    cmd: ['{{message}}'],
    inputs: { message: { type: 'string', default: 'hello', maxBytes: 1024 } },
    resources: python ? { cpu: 1000, ram: 512 } : { cpu: 250, ram: 32 },
    outputPath: '/outputs',
    network: false,
    verification: { kind: 'exact' }
  }
  const files: Record<string, string> = { 'module.json': `${JSON.stringify(spec, null, 2)}\n` }
  if (python) {
    files.Dockerfile = '# Built by `lilynode module build` over the ML base (Debian\'s python3-torch, numpy, sklearn).\nARG BASE\nFROM ${BASE}\nCOPY app/ /app/\n'
    files['main.py'] = 'import sys\n\n# Write results under /outputs; the root file system is read-only and /tmp is small.\nwith open("/outputs/message.txt", "w") as f:\n    f.write(sys.argv[1] + "\\n")\nprint(sys.argv[1])\n'
  } else {
    files.Dockerfile = '# Built by `lilynode module build`: the context holds bin/ (static busybox) and app/.\nFROM scratch\nCOPY bin/ /bin/\nCOPY app/ /app/\n'
    files['main.sh'] = '#!/bin/sh\n# main.sh MESSAGE: writes the message to /outputs/message.txt and stdout.\nset -e\nprintf \'%s\\n\' "$1" | tee /outputs/message.txt\n'
  }
  return files
}


/** The image a folder builds: its module.json's, else the first line of module.image (Lilypad folders). */
async function imageOf (dir: string): Promise<string> {
  const found = await findModule(dir).catch(() => undefined)
  if (found?.kind === 'spec') return found.spec.image
  const { readFile } = await import('node:fs/promises')
  const line = (await readFile(join(dir, 'module.image'), 'utf8').catch(() => '')).split('\n')[0].trim()
  if (line === '') throw new CliError(`${dir} has no module.json naming its image (a Lilypad folder names it in module.image)`)
  return line
}


function describeSpec (spec: ModuleSpec): Record<string, unknown> {
  const v = verificationOf(spec)
  return {
    name: spec.name,
    version: spec.version,
    moduleHash: moduleHash(spec),
    image: spec.image,
    inputs: Object.fromEntries(Object.entries(spec.inputs).map(([k, s]) => [k, s.type])),
    resources: spec.resources,
    network: spec.network,
    timeoutS: spec.timeoutS ?? null,
    verification: v.kind === 'verifier' ? `verifier: ${v.cmd.join(' ')} (timeout ${v.timeoutS} s)` : v.kind
  }
}

export async function init (args: InitArgs, { positionals }: HandlerContext): Promise<number> {
    const dir = resolve(positionals[0])
    const kind = args.kind
    const name = args.name ?? moduleNameOf(basename(dir))
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) throw new CliError(`--name must be lower-case letters, digits, ".", "_" or "-", got '${name}'`)
    const files = initFiles(kind, name)
    for (const f of Object.keys(files)) if (await exists(join(dir, f))) throw new CliError(`${join(dir, f)} exists; init writes only into a new or empty folder`)
    await mkdir(dir, { recursive: true })
    for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text, { mode: f.endsWith('.sh') ? 0o755 : 0o644 })
    process.stdout.write(`created ${kind} module ${name} in ${dir}: ${Object.keys(files).join(', ')}\nnext: lilynode module build ${positionals[0]} && lilynode module check ${positionals[0]}\n`)
    return 0
}

export async function build (_args: BuildArgs, { positionals, signal }: HandlerContext): Promise<number> {
    const dir = resolve(positionals[0])
    if (!await exists(join(dir, 'Dockerfile'))) throw new CliError(`${dir} has no Dockerfile`)
    let image = await imageOf(dir)
    image = image.split('@')[0]
    const script = join(dirname(exampleModulesDir()), 'scripts', 'images.sh')
    // images.sh reads the image from module.json; a Lilypad folder gets a temporary one
    const code = await new Promise<number>((resolveExit, reject) => {
      const p = spawn('bash', [script, dir], { stdio: 'inherit', signal, env: { ...process.env, LILYNODE_IMAGE: image } })
      p.on('error', reject)
      p.on('exit', (c) => resolveExit(c ?? 1))
    })
    if (code !== 0) throw new CliError(`building ${image} failed (exit ${code})`, code)
    const info = await newDocker().getImage(image).inspect()
    const ref = parseImageRef(image)
    process.stdout.write(`pin it in the spec as "image": "${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}@${info.Id}" (a provider then runs exactly this image)\n`)
    return 0
}

export async function check (args: CheckArgs, { positionals }: HandlerContext): Promise<number> {
    const dir = resolve(positionals[0])
    const found = await findModule(dir.includes('/') ? dir : `./${dir}`)
    const values: Record<string, string> = {}
    for (const pair of args.input) {
      const eq = pair.indexOf('=')
      if (eq <= 0) throw new CliError(`input '${pair.slice(0, 80)}' must be KEY=VALUE`)
      values[pair.slice(0, eq)] = pair.slice(eq + 1)
    }
    const spec = jobSpec(found, values)
    const out: Record<string, unknown> = { ok: true, path: found.path, format: found.kind === 'lilypad' ? 'lilypad' : 'lilynode', ...describeSpec(spec) }
    const img = await newDocker().getImage(spec.image.split('@')[0]).inspect().then((i) => i.Id, () => undefined)
    out.localImage = img ?? null
    const ref = parseImageRef(spec.image)
    if (ref.digest !== undefined && img !== undefined && img !== ref.digest) out.warning = `the local ${spec.image.split('@')[0]} is ${img}, not the pinned ${ref.digest}`
    if (ref.digest === undefined) out.note = 'the image is named by tag only: pin a digest (lilynode module build prints it) so that every provider runs the same image'
    if (args.spec) out.spec = JSON.parse(serializeModuleSpec(spec)) as unknown
    if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`)
    else for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(13)} ${typeof v === 'string' ? v : JSON.stringify(v)}\n`)
    return 0
}
