/**
 * Every command of the binary, in the order `lilynode --help` lists them. A command is a folder
 * src/cli/cmds/<name>/ (options.ts, handler.ts, index.ts); add its index.ts export here.
 */
import type { CommandModule } from './command.js'
import { bootstrapCommand } from './cmds/bootstrap/index.js'
import { chainCommand } from './cmds/chain/index.js'
import { creatorCommand } from './cmds/creator/index.js'
import { devnetCommand } from './cmds/devnet/index.js'
import { estimateCommand } from './cmds/estimate/index.js'
import { mediatorCommand } from './cmds/mediator/index.js'
import { moduleCommand } from './cmds/module/index.js'
import { providerCommand } from './cmds/provider/index.js'
import { queryCommand } from './cmds/query/index.js'
import { requestCommand } from './cmds/request/index.js'
import { resumeCommand } from './cmds/resume/index.js'
import { runCommand } from './cmds/run/index.js'
import { jobsCommand } from './cmds/jobs/index.js'
import { describeCommand } from './cmds/describe/index.js'
import { getCommand } from './cmds/get/index.js'
import { logsCommand } from './cmds/logs/index.js'

export const commands: CommandModule[] = [
  bootstrapCommand,
  providerCommand,
  runCommand,
  estimateCommand,
  resumeCommand,
  jobsCommand,
  describeCommand,
  logsCommand,
  getCommand,
  creatorCommand,
  requestCommand,
  mediatorCommand,
  queryCommand,
  moduleCommand,
  chainCommand,
  devnetCommand
] as CommandModule[]
