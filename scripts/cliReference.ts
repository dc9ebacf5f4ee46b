/**
 * Rewrites the README's "CLI reference" section from the binary's own `--help` output (every
 * command and sub-command, in the order `lilynode --help` lists them): npm run readme:cli.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { root } from '../src/cli/main.js'
import type { CommandModule } from '../src/cli/command.js'
import { LILYNODE_BIN, REPO_ROOT } from '../src/devnet/index.js'

function help (argv: string[]): string {
  return execFileSync(process.execPath, [LILYNODE_BIN, ...argv, '--help'], { encoding: 'utf8' }).trimEnd()
}

const blocks: string[] = []
const walk = (path: string[], cmd: CommandModule): void => {
  blocks.push(`### lilynode ${path.join(' ')}\n\`\`\`\n${help(path)}\n\`\`\``)
  for (const sub of cmd.subcommands ?? []) walk([...path, sub.name], sub)
}
for (const c of root.subcommands ?? []) walk([c.name], c)

const readme = join(REPO_ROOT, 'README.md')
const text = readFileSync(readme, 'utf8')
const start = text.indexOf('## CLI reference')
if (start < 0) throw new Error('README.md has no "## CLI reference" section')
const next = text.indexOf('\n## ', start + 3)
const section = `## CLI reference\n\nEach block is the command's own \`--help\` (written by \`npm run readme:cli\`); \`lilynode --version\` prints the version, \`lilynode\` alone the command list (exit 2).\n\n${blocks.join('\n')}\n`
writeFileSync(readme, text.slice(0, start) + section + (next < 0 ? '' : text.slice(next)))
process.stdout.write(`README.md: ${blocks.length} command blocks\n`)
