/** Every command of the binary, in the order `lilynode --help` lists them. */
import type { Command } from './command.js'
import { bootstrapCommand } from './commands/bootstrap.js'
import { chainCommand } from './commands/chain.js'
import { creatorCommand } from './commands/creator.js'
import { devnetCommand } from './commands/devnet.js'
import { mediatorCommand } from './commands/mediator.js'
import { moduleCommand } from './commands/module.js'
import { providerCommand } from './commands/provider.js'
import { queryCommand } from './commands/query.js'
import { requestCommand } from './commands/request.js'
import { resumeCommand } from './commands/resume.js'
import { runCommand } from './commands/run.js'

export const commands: Command[] = [
  bootstrapCommand,
  providerCommand,
  runCommand,
  resumeCommand,
  creatorCommand,
  requestCommand,
  mediatorCommand,
  queryCommand,
  moduleCommand,
  chainCommand,
  devnetCommand
]
