'use strict'

// `npm install` builds the addon from source: `napi build` compiles the Rust crate and writes
// `agen-policy.node` and the generated `index.d.ts`. When this directory is installed by path
// from another project, npm links it without installing its own dependencies, so the napi CLI
// is installed here first, from the lockfile.

const { execFileSync } = require('node:child_process')
const { join } = require('node:path')

function napiCli() {
  try {
    const manifest = require.resolve('@napi-rs/cli/package.json', { paths: [__dirname] })
    return join(manifest, '..', require(manifest).bin.napi)
  } catch {
    return undefined
  }
}

function run(command, args) {
  execFileSync(command, args, { cwd: __dirname, stdio: 'inherit' })
}

let cli = napiCli()
if (cli === undefined) {
  const npm = process.env.npm_execpath
  const quiet = ['--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund']
  if (npm) run(process.execPath, [npm, 'ci', ...quiet])
  else run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['ci', ...quiet])
  cli = napiCli()
  if (cli === undefined) throw new Error('@napi-rs/cli is missing after installing the dependencies')
}

// AGEN_POLICY_NODE_FEATURES names cargo features to build with: `test.sh` asks for `test-hooks`
// (exports only the tests use); an ordinary install builds without any.
const release = process.argv.includes('--debug') ? [] : ['--release']
const features = process.env.AGEN_POLICY_NODE_FEATURES ? ['--features', process.env.AGEN_POLICY_NODE_FEATURES] : []
run(process.execPath, [cli, 'build', ...release, ...features, '--no-const-enum', '--dts', 'index.d.ts'])
