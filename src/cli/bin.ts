// Process entry of the `anemll` binary (bin/anemll.js loads the compiled form of this file).
import { main } from './main.js'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    console.error(`anemll: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    process.exitCode = 1
  },
)
