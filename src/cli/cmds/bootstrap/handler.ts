/** `lilynode bootstrap`. */
import { CliError, type HandlerContext } from '../../command.js'
import { bootstrapIdentity, loadProfile, runBootstrap } from '../../../node/index.js'
import type { BootstrapArgs } from './options.js'

export async function bootstrap (args: BootstrapArgs, { signal }: HandlerContext): Promise<number> {
  if (args.showId) {
    const id = await bootstrapIdentity(args.dataDir)
    process.stdout.write(args.json ? `${JSON.stringify(id)}\n` : `peer id ${id.peerId}\naddress ${id.address}\n`)
    return 0
  }
  if (args.profile === undefined) throw new CliError('missing option --profile (network profile JSON); run \'lilynode bootstrap --help\' to see its options')
  const profile = await loadProfile(args.profile)
  if (args.listen.length === 0) throw new CliError('missing option --listen (a bootstrap node needs a fixed address, e.g. /ip4/0.0.0.0/tcp/4001)')
  await runBootstrap({ profile, dataDir: args.dataDir, listen: args.listen }, signal, (addrs) => {
    process.stdout.write(args.json ? `${JSON.stringify({ event: 'ready', addrs })}\n` : `bootstrap node listening on\n${addrs.map((a) => `  ${a}`).join('\n')}\n`)
  })
  return 0
}
