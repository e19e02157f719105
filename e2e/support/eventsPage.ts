import type { Locator, Page } from '@playwright/test'

/** The `/events` route, located by the contract's `data-testid`s. */
export class EventsPage {
  readonly meshSelector: Locator
  readonly timeline: Locator
  readonly items: Locator
  readonly empty: Locator

  constructor(readonly page: Page) {
    this.meshSelector = page.getByTestId('mesh-selector')
    this.timeline = page.getByTestId('event-timeline')
    this.items = this.timeline.getByTestId('event-item')
    this.empty = page.getByTestId('event-empty')
  }

  /** Opens `/events`, optionally with `?mesh=`, as a deep link. */
  async goto(options: { mesh?: string } = {}): Promise<void> {
    const query = options.mesh ? `?${new URLSearchParams({ mesh: options.mesh })}` : ''
    await this.page.goto(`/events${query}`)
  }

  /** The item whose `data-event-id` is `id`. */
  item(id: string): Locator {
    // JSON string quoting is valid CSS string quoting for ids (they hold no control characters).
    return this.items.and(this.page.locator(`[data-event-id=${JSON.stringify(id)}]`))
  }
}
