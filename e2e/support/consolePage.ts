import type { Locator, Page } from '@playwright/test'
import { expect } from '@playwright/test'

/** A timeline page of the console (`/events` or an entity's Events tab), by the contract's test ids. */
export class TimelinePage {
  readonly timeline: Locator
  readonly items: Locator
  readonly sentinel: Locator
  readonly endOfHistory: Locator
  readonly empty: Locator
  readonly meshSelector: Locator
  readonly typeFilter: Locator
  readonly sourceFilter: Locator
  readonly search: Locator

  constructor(readonly page: Page) {
    this.timeline = page.getByTestId('event-timeline')
    this.items = this.timeline.getByTestId('event-item')
    this.sentinel = page.getByTestId('event-load-more')
    this.endOfHistory = this.timeline.getByText('Start of the stored history')
    this.empty = page.getByTestId('event-empty')
    this.meshSelector = page.getByTestId('mesh-selector')
    this.typeFilter = page.getByTestId('event-filter-type')
    this.sourceFilter = page.getByTestId('event-filter-source')
    this.search = page.getByTestId('event-search')
  }

  /** `data-event-id`s of the items shown, in order. */
  ids(): Promise<string[]> {
    return this.items.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-event-id') ?? ''))
  }

  /** Scrolls to the sentinel until the end of history shows; returns how many pages that took. */
  async scrollToEnd(maxPages = 50): Promise<number> {
    let pages = 0
    while (!(await this.endOfHistory.isVisible())) {
      if (++pages > maxPages) throw new Error(`the end of history did not show after ${maxPages} pages`)
      const before = await this.items.count()
      await this.sentinel.scrollIntoViewIfNeeded()
      await expect.poll(async () => (await this.items.count()) > before || (await this.endOfHistory.isVisible())).toBe(true)
    }
    return pages
  }

  /** Picks a mesh in the header's selector. */
  async selectMesh(name: string): Promise<void> {
    await this.meshSelector.click()
    await this.page.locator(`.mesh-option[data-mesh="${name}"]`).click()
  }

  /** Picks a time range preset by its label. */
  async selectRange(label: string): Promise<void> {
    await this.page.getByTestId('event-filter-range').click()
    await this.page.locator('.ant-select-item-option').filter({ hasText: label }).click()
  }

  /** The tab link of an entity page (`overview` or `events`). */
  tab(name: 'overview' | 'events'): Locator {
    return this.page.locator(`.entity-tab[data-tab="${name}"]`)
  }
}
