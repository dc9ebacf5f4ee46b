/** Every command of the binary, in the order `lilynode --help` lists them. */
import type { Command } from './command.js'

export const commands: Command[] = []
