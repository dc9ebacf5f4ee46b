/** Options many commands share, so they read and default the same everywhere. */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { flag, list, str, type Opt } from './typedOptions.js'

export const profileOption = str({ description: 'network profile JSON (e.g. .devnet/profile.json)', placeholder: 'profile.json', required: true })

/** --data-dir defaulting to ~/.lilynode/<name> (help shows the ~ form, the same on every machine). */
export function dataDirOption (name: string, description: string): Opt<string> {
  return str({ description, placeholder: 'dir', default: join(homedir(), '.lilynode', name), defaultText: `~/.lilynode/${name}` })
}

export const listenOption = list({ description: 'libp2p listen multiaddr (default /ip4/0.0.0.0/tcp/0)', placeholder: 'multiaddr' })

export function jsonOption (description = 'one JSON event per line'): Opt<boolean> {
  return flag({ description })
}
