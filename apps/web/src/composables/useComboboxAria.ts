/**
 * Repairs the ARIA of ant-design-vue 4.2's Select comboboxes, which axe-core rates critical: the
 * closed combobox input lacks `aria-expanded`, and its `aria-owns` / `aria-activedescendant`
 * name a listbox that is only rendered once the dropdown opens. A MutationObserver restores
 * `aria-expanded="false"` and, while closed, parks references to elements that do not exist in a
 * `data-` attribute, putting them back when the dropdown opens (antd does not re-set an attribute
 * whose value did not change), so an open dropdown keeps its listbox references.
 *
 * Known limits (candidly): a workaround until antd fixes its Select; it touches only inputs with
 * `role="combobox"` inside `.ant-select`, and costs one attribute check per mutation batch.
 */
import { onScopeDispose } from 'vue'

const SELECTOR = '.ant-select input[role="combobox"]'
const REFERENCES = ['aria-owns', 'aria-activedescendant', 'aria-controls'] as const

function repair(input: Element): void {
  if (!input.hasAttribute('aria-expanded')) input.setAttribute('aria-expanded', 'false')
  const open = input.getAttribute('aria-expanded') === 'true'
  for (const name of REFERENCES) {
    const parked = `data-parked-${name}`
    const id = input.getAttribute(name)
    if (id && !document.getElementById(id)) {
      if (open) continue
      input.setAttribute(parked, id)
      input.removeAttribute(name)
    } else if (!id && open) {
      const saved = input.getAttribute(parked)
      if (saved && document.getElementById(saved)) input.setAttribute(name, saved)
    }
  }
}

function repairAll(): void {
  for (const input of document.querySelectorAll(SELECTOR)) repair(input)
}

export function useComboboxAria(): void {
  if (typeof MutationObserver === 'undefined') return
  let scheduled = false
  const observer = new MutationObserver(() => {
    // One pass per frame, however many mutations a render makes.
    if (scheduled) return
    scheduled = true
    requestAnimationFrame(() => {
      scheduled = false
      repairAll()
    })
  })
  observer.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['aria-owns', 'aria-activedescendant', 'aria-expanded'] })
  repairAll()
  onScopeDispose(() => observer.disconnect())
}
