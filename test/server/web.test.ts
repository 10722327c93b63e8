// The web app in a real headless Chromium (Debian's chromium, driven by playwright-core): a
// streamed reply, stop, new chat, switching models, and model output that must never run.
// Screenshots of the main views go to $ANEMLL_SCREENSHOTS (default .scratch/screenshots).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { RunningServer } from '../../src/server/listen.js'
import { WEB_DIR } from '../../src/server/web.js'
import { convertedDir } from '../generate/helpers.js'
import { directModel, MODEL, serveStories, until } from './helpers.js'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const SHOTS =
  process.env.ANEMLL_SCREENSHOTS ?? join(import.meta.dirname, '../../.scratch/screenshots')
const skip =
  !process.env.CI && !existsSync(CHROMIUM) ? `no ${CHROMIUM} (apt-get install chromium)` : false

let server: RunningServer
let browser: Browser

before(async () => {
  if (skip) return
  assert.ok(existsSync(join(WEB_DIR, 'app.js')), "web/dist is missing: run 'npm run build:web'")
  server = await serveStories({ metas: [await convertedDir('fp16')] })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  mkdirSync(SHOTS, { recursive: true })
})
after(async () => {
  await browser?.close()
  await server?.close()
})

async function open(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } })
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(server.url)
  await page.locator('select[name=model] option', { hasText: MODEL }).waitFor({ state: 'attached' })
  await page.locator('summary', { hasText: 'Settings' }).click()
  await page.fill('input[name=temperature]', '0')
  assert.deepEqual(errors, [])
  return page
}

const normal = (s: string) => s.replace(/\s+/g, ' ').trim()

test('a message streams in as the engine answers it; statistics follow', { skip }, async () => {
  const page = await open()
  await page.fill('input[name=maxTokens]', '30')
  await page.fill('textarea', 'Once upon a time')
  await page.keyboard.press('Enter')
  const reply = page.locator('.msg.assistant').last()
  await reply.locator('.stats').waitFor()
  const direct = await (
    await directModel()
  ).complete([{ role: 'user', content: 'Once upon a time' }], {
    maxTokens: 30,
  })
  assert.equal(normal(await reply.locator('.content').innerText()), normal(direct.text))
  assert.match(
    await reply.locator('.stats').innerText(),
    /TTFT \d+ ms · [\d.]+ tok\/s · 30 tokens · \d+ cached/,
  )
  await page.screenshot({ path: join(SHOTS, 'chat.png') })
  // a second turn reuses the cached conversation
  await page.fill('textarea', 'The dog ran.')
  await page.keyboard.press('Enter')
  await page.locator('.msg.assistant').nth(1).locator('.stats').waitFor()
  assert.match(await page.locator('.msg.assistant .stats').nth(1).innerText(), /· [1-9]\d* cached/)
  await page.close()
})

test('stop frees the model; new chat; switching models', { skip }, async () => {
  const page = await open()
  // deterministic: the model is held, so the reply is still waiting when Stop is pressed
  const entry = server.registry.get(MODEL)!
  const held = entry.lock.enter()!
  await held.turn
  await page.fill('textarea', 'Once upon a time')
  await page.keyboard.press('Enter')
  await until(() => entry.lock.waiting === 1, 'the request to queue')
  await page.click('button:has-text("Stop")')
  await page.locator('button:has-text("Send")').waitFor()
  await until(() => entry.lock.waiting === 0, 'the stopped request to leave the queue')
  held.cancel()
  assert.ok(entry.lock.idle, 'nothing runs after stop')
  await page.click('button:has-text("New chat")')
  assert.equal(await page.locator('.msg').count(), 0)
  await page.selectOption('select[name=model]', 'fp16')
  await page.fill('textarea', 'Lily')
  await page.keyboard.press('Enter')
  await page.locator('.msg.assistant .stats').waitFor()
  assert.ok(server.registry.get('fp16')!.loaded, 'the reply came from the other model')
  assert.ok((await page.locator('aside li').count()) >= 2)
  await page.setViewportSize({ width: 390, height: 800 }) // a phone
  await page.screenshot({ path: join(SHOTS, 'phone.png') })
  await page.close()
})

test(
  'a reply with <img onerror> and <script> renders as text and runs nothing',
  { skip },
  async () => {
    const page = await open()
    const evil =
      'Look: <img src=x onerror="window.pwned=1"> and <script>window.pwned=2</script> **bold**'
    const chunk = (content: string) =>
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`
    await page.route('**/v1/chat/completions', (route) =>
      route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: chunk(evil.slice(0, 20)) + chunk(evil.slice(20)) + 'data: [DONE]\n\n',
      }),
    )
    await page.fill('textarea', 'hi')
    await page.keyboard.press('Enter')
    const reply = page.locator('.msg.assistant').last().locator('.content')
    await reply.locator('strong').waitFor()
    assert.equal(await reply.locator('img, script').count(), 0)
    assert.match(await reply.innerText(), /<img src=x onerror="window.pwned=1">/)
    assert.match(await reply.innerText(), /<script>window.pwned=2<\/script>/)
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined)
    await page.screenshot({ path: join(SHOTS, 'escaped.png') })
    await page.close()
  },
)
