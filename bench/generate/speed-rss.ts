// Peak RSS of one engine for bench/generate/speed, in a fresh process so nothing else counts:
// load (with warm-up), one 128-token prompt and 8 greedy tokens, then one JSON line
// {"peakRssMb": n} (the whole process: node and its modules included, the same for both sides).
//
// Usage: npx tsx bench/generate/speed-rss.ts ours <converted dir> | llama <gguf> <context> <threads>
import { llamaCpp, loadLlamaCpp, loadOurs } from './speed-engines.js'

const [kind, path, context, threads] = process.argv.slice(2)
let engine
if (kind === 'ours') engine = await loadOurs(path)
else {
  const lib = await llamaCpp()
  if (typeof lib === 'string') throw new Error(lib)
  engine = await loadLlamaCpp(lib, path, Number(context), Number(threads))
}
await engine.run(
  Array.from({ length: 128 }, (_, i) => 100 + i),
  8,
  Infinity,
)
await engine.dispose()
console.log(JSON.stringify({ peakRssMb: process.resourceUsage().maxRSS / 1024 }))
process.exit(0)
