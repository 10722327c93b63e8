// Model output as Markdown that can never run: raw HTML in a reply is shown as text (escaped, not
// interpreted), and DOMPurify removes anything unsafe that Markdown itself produced (javascript:
// links), so a reply never becomes script or live HTML in the page.
import DOMPurify from 'dompurify'
import { Marked } from 'marked'

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: { html: ({ text }) => escape(text) },
})

export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(marked.parse(text, { async: false }), { USE_PROFILES: { html: true } })
}
