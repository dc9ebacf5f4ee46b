/** Lilypad's module format (a Go text/template rendering a Bacalhau job), read as it is. */
export { parseTemplate, executeTemplate, jsEscape, htmlEscape, truth, MAX_TEMPLATE_BYTES, MAX_TEMPLATE_OUTPUT_BYTES, MAX_TEMPLATE_DEPTH, type Template, type TemplateData, type TemplateValue, type ExecuteOptions } from './template.js'
export { parseLilypadModule, renderLilypadModule, goJsonString, LILYPAD_TEMPLATE_FILE, MAX_LILYPAD_INPUTS, MAX_LILYPAD_VALUE_BYTES, type LilypadModule } from './module.js'
