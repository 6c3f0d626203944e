"""The page's CSS: layout, sources panel, dark-mode colour pairs and the phone layout.

Colour pairs are chosen for a contrast of at least 4.5:1 (WCAG AA) in light and dark mode;
``tests/test_ui_chats_browser.py`` measures the highlight from the computed colours.
"""

CSS = """
#rag-header h1 { margin: 0; font-size: 1.5rem; }
#rag-header p { margin: 0.2rem 0 0; color: var(--body-text-color-subdued); }
.rag-status { font-size: 0.9rem; line-height: 1.5; }
.rag-status .rag-index, .rag-status .rag-answer { color: var(--body-text-color-subdued); }
.rag-status .rag-notice, .rag-status .rag-warning { color: #92400e; background: #fef3c7;
  border-radius: 6px; padding: 2px 8px; margin-top: 2px; }
.rag-status .rag-error { color: #991b1b; background: #fee2e2; border-radius: 6px;
  padding: 2px 8px; margin-top: 2px; }
.rag-sources { font-size: 0.92rem; }
.rag-heading { margin: 0 0 0.5rem; font-size: 1rem; }
.rag-list { list-style: none; padding: 0; margin: 0; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 10px; margin-bottom: 8px; background: var(--background-fill-primary); }
.rag-source-head { font-weight: 600; margin-bottom: 4px; overflow-wrap: anywhere; }
.rag-marker { color: var(--color-accent); }
.rag-unsupported { color: #92400e; font-size: 0.85em; }
.rag-title { font-weight: 400; color: var(--body-text-color-subdued); }
.rag-title::before { content: "— "; }
.rag-context { margin: 0; padding-left: 8px; border-left: 3px solid var(--color-accent-soft);
  white-space: pre-wrap; }
.rag-context mark { background: #fde68a; color: #1f2937; padding: 0 1px; }
.rag-uncited { opacity: 0.8; font-size: 0.88rem; }
.rag-snippet { white-space: pre-wrap; color: var(--body-text-color-subdued); }
.rag-others summary { cursor: pointer; color: var(--body-text-color-subdued); margin: 6px 0; }
.rag-none { color: var(--body-text-color-subdued); }
.rag-docs { width: 100%; border-collapse: collapse; }
.rag-docs th, .rag-docs td { text-align: left; padding: 4px 8px;
  border-bottom: 1px solid var(--border-color-primary); }
.rag-num { text-align: right !important; }
.rag-report .rag-headline { font-weight: 600; }
.rag-report .rag-summary { color: var(--body-text-color-subdued); font-size: 0.88rem; }
/* Dark mode: explicit pairs, each at least 4.5:1 (WCAG AA), never light text on pale yellow. */
.dark .rag-context mark { background: #713f12; color: #fef9c3; }
.dark .rag-status .rag-notice, .dark .rag-status .rag-warning { color: #fde68a;
  background: #422006; }
.dark .rag-status .rag-error { color: #fecaca; background: #450a0a; }
.dark .rag-unsupported { color: #fde68a; }
.dark .rag-source { background: var(--background-fill-secondary); }
/* Phone width: the question box stays on the first screen, the sources follow the answer. */
@media (max-width: 640px) {
  #rag-header p { display: none; }
  #rag-header h1 { font-size: 1.2rem; }
  #chat { height: 42vh !important; max-height: 42vh; }
  #ask-row { flex-wrap: wrap !important; }
  #ask-row > :has(#question) { flex: 1 1 100% !important; min-width: 100% !important; }
  #ask, #stop, #clear { min-width: 0 !important; }
}
"""
