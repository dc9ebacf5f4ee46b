// The whole suite when mocha is given no test files (npm test); only the named ones otherwise
// (`npx mocha dist/test/node/store.test.js`), so running one file never runs everything.
const named = process.argv.slice(2).some((a) => /\.test\.js$/.test(a) || /^dist\/test\//.test(a))
module.exports = {
  spec: named ? [] : ['dist/test/**/*.test.js'],
  timeout: 60000,
  exit: true
}
