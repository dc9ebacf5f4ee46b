/** Every command of the binary, in the order `lilynode --help` lists them. */
import type { Command } from './command.js'
import { chainCommand } from './commands/chain.js'
import { devnetCommand } from './commands/devnet.js'
import { mediatorCommand } from './commands/mediator.js'
import { providerCommand } from './commands/provider.js'
import { runCommand } from './commands/run.js'

export const commands: Command[] = [
  providerCommand,
  runCommand,
  mediatorCommand,
  chainCommand,
  devnetCommand
]
